// CSV exports of the reach reports with a progress bar. Without this file the export links are plain downloads;
// with it, a click fetches the CSV as it streams, shows the rows received against the X-Total-Rows header the
// server sends (or the bytes, when it sends none) in a <progress> with a label and a status line, then hands the
// finished file to the browser (Blob + object URL) under the server's file name.
// Loaded as a module from our own origin (the Content-Security-Policy allows no inline script).

const NEWLINE = 10;

function fileName(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/.exec(header);
  return match ? match[1] : fallback;
}

function show(box, bar, label, status, { value, max, text, title }) {
  box.hidden = false;
  if (title) label.textContent = title;
  if (max !== undefined) bar.setAttribute("max", String(Math.max(1, max)));
  if (value !== undefined) bar.setAttribute("value", String(value));
  else bar.removeAttribute("value"); // indeterminate: nothing to count against
  if (text !== undefined) status.textContent = text;
}

async function download(link, box) {
  const bar = box.querySelector("progress");
  const label = box.querySelector("label");
  const status = box.querySelector("[role=status]");
  const title = `Downloading ${link.textContent.trim()}`;
  link.setAttribute("aria-busy", "true");
  link.classList.add("busy");
  show(box, bar, label, status, { value: 0, max: 1, text: "Starting…", title });
  try {
    const response = await fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/csv" } });
    if (!response.ok || !response.body) {
      const reason = (await response.text()).trim() || `the server answered ${response.status}`;
      show(box, bar, label, status, { value: 0, max: 1, text: `The export failed: ${reason}` });
      return;
    }
    const total = Number(response.headers.get("X-Total-Rows")) || 0;
    const size = Number(response.headers.get("Content-Length")) || 0;
    const reader = response.body.getReader();
    const chunks = [];
    let lines = 0;
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      for (let i = 0; i < value.length; i += 1) if (value[i] === NEWLINE) lines += 1;
      const rows = Math.max(0, lines - 1); // the first line is the header
      if (total) {
        show(box, bar, label, status, { value: Math.min(rows, total), max: total, text: `${Math.min(rows, total)} of ${total} rows` });
      } else if (size) {
        show(box, bar, label, status, { value: bytes, max: size, text: `${bytes} of ${size} bytes` });
      } else {
        show(box, bar, label, status, { text: `${rows} rows` });
      }
    }
    const rows = Math.max(0, lines - 1);
    const url = URL.createObjectURL(new Blob(chunks, { type: "text/csv" }));
    const save = document.createElement("a");
    save.href = url;
    save.download = fileName(response, "export.csv");
    save.hidden = true;
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    show(box, bar, label, status, { value: total || rows || 1, max: total || rows || 1, text: `Done: ${rows} rows saved as ${save.download}.` });
  } catch (error) {
    show(box, bar, label, status, { value: 0, max: 1, text: `The export stopped: ${error.message}. Try the link again.` });
  } finally {
    link.removeAttribute("aria-busy");
    link.classList.remove("busy");
  }
}

function exportLinks() {
  const box = document.getElementById("export-progress");
  if (!box || !window.fetch || !window.ReadableStream) return; // the plain links download as they are
  for (const link of document.querySelectorAll("a[data-export-progress]")) {
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      if (link.getAttribute("aria-busy") === "true") return; // one download at a time per link
      download(link, box);
    });
  }
}

exportLinks();
