"""Queueing many shares goes in several pipelines (``PIPELINE_CHUNK`` jobs each: RQ makes each one a MULTI/EXEC that
Redis holds whole until EXEC); every block's job is queued once, whichever pipeline it fell in."""

from __future__ import annotations

from workers import queues


def test_many_shares_are_queued_over_several_pipelines_one_job_a_block(app, redis):
    blocks = 2 * queues.PIPELINE_CHUNK + 3  # three pipelines, the last one short
    items = [(share_id, None, "k") for share_id in range(blocks * queues.BLOCK)]
    assert queues.enqueue_publish_many(redis, items) == len(items)
    q = queues.queue(queues.PUBLISH, redis)
    ids = q.get_job_ids()
    assert len(ids) == len(set(ids)) == blocks
    assert set(ids) == {queues.publish_job_id(b * queues.BLOCK, "k") for b in range(blocks)}
    assert all(q.fetch_job(i).result_ttl == 0 for i in ids[:: queues.PIPELINE_CHUNK])  # no result kept


def test_job_states_answers_for_every_share_asking_each_job_once(app, redis, monkeypatch):
    monkeypatch.setattr(queues, "STATE_CHUNK", 2)  # several pipelines
    queues.enqueue_publish_many(redis, [(share_id, None, "k") for share_id in range(3 * queues.BLOCK)])
    ids = [queues.publish_job_id(share_id, "k") for share_id in range(3 * queues.BLOCK)] + ["shares-999-k"]
    asked: list[str] = []
    real = redis.pipeline

    def counting(*args, **kwargs):
        pipe = real(*args, **kwargs)
        hmget = pipe.hmget
        pipe.hmget = lambda key, *rest: (asked.append(key), hmget(key, *rest))[1]
        return pipe

    monkeypatch.setattr(redis, "pipeline", counting)
    assert queues.job_states(redis, ids) == ["queued"] * (3 * queues.BLOCK) + [None]
    assert sorted(asked) == sorted({f"rq:job:{i}" for i in ids})  # 4 jobs asked, not 61 shares
