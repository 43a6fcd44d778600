// Progressive enhancement for the server-rendered pages. Every page works without this file: it only adds
// previews, counters and screening as you type, the audience count while targeting, and live regions that
// refresh themselves (share status, fan-out progress) instead of reloading the whole page.
// Loaded as a module from our own origin (the Content-Security-Policy allows no inline script).

const LABELS = { x: "X", linkedin: "LinkedIn", mastodon: "Mastodon", bluesky: "Bluesky", threads: "Threads" };
const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  if (!response.ok) return null; // the server said why on the form's next submission; a preview just stays put
  return response.json();
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text; // never innerHTML: the text is what people typed
  return node;
}

function renderFindings(list, findings) {
  list.replaceChildren();
  if (!findings.length) {
    list.append(el("li", { class: "finding none" }, "Screening finds nothing."));
    return;
  }
  for (const f of findings) {
    const item = el("li", { class: `finding ${f.action}`, "data-rule": f.rule });
    item.append(el("strong", {}, f.action), ` · ${f.label}: ${f.message}`);
    if (f.excerpt) item.append(" — “", el("mark", {}, f.excerpt), "”");
    list.append(item);
  }
}

function renderCounter(counter, length, limit) {
  counter.textContent = limit ? `${length} / ${limit}` : `${length}`;
  counter.classList.toggle("over", Boolean(limit) && length > limit);
}

// ---------------------------------------------------------------- employee: edit my wording, screened as I type
function employeeEditors() {
  for (const area of document.querySelectorAll("textarea[data-preview-url]")) {
    const preview = document.getElementById(area.dataset.preview);
    const counter = document.getElementById(area.dataset.counter);
    const findings = document.getElementById(area.dataset.findings);
    const button = document.getElementById(area.dataset.submit);
    const update = debounce(async () => {
      const result = await postJSON(area.dataset.previewUrl, { network: area.dataset.network, text: area.value });
      if (!result) return;
      if (preview) preview.textContent = result.text;
      if (counter) renderCounter(counter, result.length, Number(counter.dataset.limit) || 0);
      if (findings) renderFindings(findings, result.findings);
      if (button) {
        button.disabled = result.blocked;
        button.setAttribute("aria-disabled", String(result.blocked));
      }
    }, 250);
    area.addEventListener("input", update);
    area.addEventListener("focus", () => { // on a feed card: show the preview of the network being reworded
      const section = preview?.closest("section.network");
      if (!section || !section.hidden) return;
      for (const other of section.parentElement.querySelectorAll("section.network:not(.shared)")) other.hidden = other !== section;
    });
  }
}

// ---------------------------------------------------- studio: per-network previews and counters as comms type
function studioPreviews() {
  const form = document.querySelector("form[data-draft-preview]");
  const box = document.getElementById("draft-previews");
  if (!form || !box) return;
  const value = (name) => form.elements.namedItem(name)?.value || "";
  const update = debounce(async () => {
    const copy = {};
    for (const area of form.querySelectorAll("textarea[data-copy-network]")) copy[area.dataset.copyNetwork] = area.value;
    const result = await postJSON(form.dataset.draftPreview, {
      copy, hashtags: value("hashtags"), disclosure: value("disclosure"),
    });
    if (!result) return;
    box.replaceChildren();
    if (!result.length) box.append(el("p", { class: "muted" }, "Write some copy to see what each network receives."));
    for (const p of result) {
      const card = el("section", { class: "network-preview", "data-network": p.network });
      const heading = el("h3", {}, LABELS[p.network] || p.network);
      const counter = el("span", { class: "counter", "data-network": p.network });
      renderCounter(counter, p.length, p.limit);
      heading.append(" ", counter);
      const list = el("ul", { class: "findings" });
      renderFindings(list, p.findings);
      card.append(heading, el("blockquote", { class: "preview", dir: "auto" }, p.text), list);
      box.append(card);
    }
  }, 300);
  form.addEventListener("input", (event) => {
    if (event.target.matches("textarea[data-copy-network], #hashtags, #disclosure")) update();
  });
}

// ------------------------------------------------------------------- studio: how many people the choice reaches
function audienceCount() {
  const form = document.querySelector("form[data-audience-url]");
  const out = document.getElementById("audience-count");
  if (!form || !out) return;
  const ids = (name) => Array.from(form.elements.namedItem(name)?.selectedOptions || [], (o) => Number(o.value));
  // the people picker (js/people-picker.js) keeps the ids of the people chosen on the e-mail field
  const people = () => (form.elements.namedItem("people_emails")?.dataset.ids || "").split(",").filter(Boolean).map(Number);
  const update = debounce(async () => {
    const everyone = form.elements.namedItem("target_everyone")?.checked || false;
    const result = await postJSON(form.dataset.audienceUrl, {
      target_everyone: everyone, team_ids: ids("team_ids"), user_ids: people(),
    });
    if (result) out.textContent = `Reaches ${result.people} ${result.people === 1 ? "person" : "people"}.`;
  }, 200);
  form.addEventListener("change", (event) => {
    if (event.target.matches("[name=target_everyone], [name=team_ids], [name=people_emails]")) update();
  });
  update();
}

// -------------------------------------------- live regions: re-fetch this page and swap the region until settled
function liveRegions() {
  for (const region of document.querySelectorAll("[data-refresh][id]")) {
    const every = Math.max(500, Number(region.dataset.refresh) || 2000);
    const tick = async () => {
      let html;
      try {
        const response = await fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": region.id } });
        if (!response.ok) return;
        html = await response.text();
      } catch {
        setTimeout(tick, every * 2); // offline for a moment: try again later
        return;
      }
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(region.id);
      const current = document.getElementById(region.id);
      if (!fresh || !current) return;
      current.replaceWith(fresh);
      if (fresh.hasAttribute("data-refresh")) setTimeout(tick, every);
    };
    setTimeout(tick, every);
  }
}

// -------------------------------------------- feed cards: the chips choose the networks; one Share button names them
function shareCards() {
  for (const form of document.querySelectorAll("form[data-share-card]")) {
    const card = form.closest("[data-talking-point]");
    const button = form.querySelector("button.share-now");
    const update = () => {
      const picked = [...form.querySelectorAll("input[name=networks]:checked")];
      button.textContent = picked.length ? `Share on ${picked.map((c) => c.dataset.label).join(", ")}` : "Share on a network";
      button.disabled = picked.length === 0;
      const shown = picked.length ? picked[0].value : null; // the copy as it will post on the first chosen network
      const sections = [...card.querySelectorAll("section.network:not(.shared)")];
      if (shown) for (const section of sections) section.hidden = section.dataset.network !== shown;
    };
    form.addEventListener("change", update);
    update();
    // while "Edit wording" is open its own button shares my words: the primary one (the copy as written) steps aside
    const editing = card.querySelector("details.edit");
    if (editing) {
      const toggle = () => { form.hidden = editing.open; };
      editing.addEventListener("toggle", toggle);
      toggle();
    }
  }
}

employeeEditors();
shareCards();
studioPreviews();
audienceCount();
liveRegions();
