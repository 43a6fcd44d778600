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
