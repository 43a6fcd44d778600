// The people picker of the talking point form: a type-ahead (ARIA 1.2 combobox with a listbox popup) over
// GET /api/people/search, chosen people as removable chips, teams ticked in the Teams list. Without this file the
// form shows a plain field of e-mail addresses; with it that field is hidden and kept filled, so the server reads
// the same field either way (and refuses an unknown address naming it).

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text; // never innerHTML: names come from people
  return node;
}

function splitEmails(text) {
  return text.split(/[\s,;]+/).map((e) => e.trim().toLowerCase()).filter(Boolean);
}

function setup(root) {
  const field = root.querySelector("textarea[name=people_emails]");
  const form = field.form;
  const label = root.querySelector(`label[for="${field.id}"]`);
  const hint = root.querySelector(`#${field.id}-hint`);
  const known = [...root.querySelectorAll(".picked-people li")].map((li) => (
    { id: Number(li.dataset.id), name: li.dataset.name, email: li.dataset.email }));
  const byEmail = new Map(known.map((p) => [p.email.toLowerCase(), p]));
  // what the field holds: known people as chips; an address nobody has stays as a chip marked unknown
  let chosen = splitEmails(field.value).map((e) => byEmail.get(e) || { id: null, name: e, email: e });

  const chips = el("ul", { class: "person-chips", "aria-label": "People chosen" });
  const combo = el("div", { class: "combo" });
  const input = el("input", {
    id: "people-search", type: "text", role: "combobox", "aria-expanded": "false", "aria-controls": "people-options",
    "aria-autocomplete": "list", autocomplete: "off", spellcheck: "false", placeholder: "Type a name or e-mail",
    "aria-describedby": hint ? hint.id : "",
  });
  const list = el("ul", { id: "people-options", role: "listbox", "aria-label": "Matching people and teams" });
  list.hidden = true;
  const status = el("p", { class: "visually-hidden", "aria-live": "polite", id: "people-status" });
  combo.append(input, list);
  field.hidden = true;
  field.after(chips, combo, status);
  if (label) label.htmlFor = input.id;
  if (hint) hint.textContent = "Type a name or e-mail, choose with ↑ ↓ and Enter. Backspace removes the last one.";
  if (field.getAttribute("aria-invalid")) input.setAttribute("aria-invalid", "true");

  let options = [];
  let active = -1;
  let asked = 0;

  const sync = () => {
    field.value = chosen.map((p) => p.email).join(", ");
    field.dataset.ids = chosen.filter((p) => p.id).map((p) => p.id).join(",");
    field.dispatchEvent(new Event("change", { bubbles: true })); // the audience count listens
    chips.replaceChildren();
    for (const person of chosen) {
      const chip = el("li", { class: `person-chip${person.id ? "" : " unknown"}`, "data-email": person.email });
      chip.append(el("span", { class: "chip-name", dir: "auto" }, person.name));
      if (person.id && person.name !== person.email) chip.append(el("span", { class: "chip-email" }, person.email));
      const remove = el("button", { type: "button", class: "chip-remove", "aria-label": `Remove ${person.name}` }, "×");
      remove.addEventListener("click", () => {
        chosen = chosen.filter((p) => p !== person);
        sync();
        status.textContent = `${person.name} removed.`;
        input.focus();
      });
      chip.append(remove);
      chips.append(chip);
    }
    chips.hidden = chosen.length === 0;
  };

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };

  const highlight = (index) => {
    active = index;
    options.forEach((opt, i) => opt.node.setAttribute("aria-selected", String(i === index)));
    if (index < 0) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    input.setAttribute("aria-activedescendant", options[index].node.id);
    options[index].node.scrollIntoView({ block: "nearest" });
  };

  const everyone = form.elements.namedItem("target_everyone");
  const pick = (option) => {
    if (option.team) {
      const teamOption = form.querySelector(`select[name=team_ids] option[value="${option.team.id}"]`);
      if (teamOption) {
        teamOption.selected = true;
        teamOption.parentElement.dispatchEvent(new Event("change", { bubbles: true }));
      }
      status.textContent = `Team ${option.team.name} chosen.`;
    } else if (!chosen.some((p) => p.id === option.person.id)) {
      chosen.push(option.person);
      status.textContent = `${option.person.name} added.`;
    }
    if (everyone?.checked) { // aiming at someone means not at the whole organisation
      everyone.checked = false;
      everyone.dispatchEvent(new Event("change", { bubbles: true }));
    }
    sync();
    input.value = "";
    close();
    input.focus();
  };

  const render = (people, teams) => {
    list.replaceChildren();
    options = [];
    const add = (option, text, detail) => {
      const node = el("li", { role: "option", id: `people-option-${options.length}`, "aria-selected": "false" });
      node.append(el("span", { class: "opt-name", dir: "auto" }, text), el("span", { class: "opt-detail" }, detail));
      node.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the input
      node.addEventListener("click", () => pick(option));
      option.node = node;
      options.push(option);
      list.append(node);
    };
    for (const person of people) {
      if (chosen.some((p) => p.id === person.id)) continue;
      add({ person }, person.name, [person.email, person.team].filter(Boolean).join(" · "));
    }
    for (const team of teams) add({ team }, team.name, "team");
    if (!options.length) list.append(el("li", { class: "opt-none", role: "presentation" }, "Nobody matches."));
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(options.length ? 0 : -1);
    status.textContent = options.length ? `${options.length} match${options.length === 1 ? "" : "es"}.` : "Nobody matches.";
  };

  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) {
      close();
      return;
    }
    timer = setTimeout(async () => {
      const mine = ++asked;
      let result;
      try {
        const response = await fetch(`${root.dataset.searchUrl}?q=${encodeURIComponent(q)}&limit=20`, {
          credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return;
        result = await response.json();
      } catch {
        return; // offline for a moment: the next keystroke asks again
      }
      if (mine === asked && input.value.trim() === q) render(result.people, result.teams);
    }, 150);
  });

  input.addEventListener("keydown", (event) => {
    const open = !list.hidden && options.length > 0;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (open) highlight((active + 1) % options.length);
      else if (input.value.trim()) input.dispatchEvent(new Event("input"));
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlight((active - 1 + options.length) % options.length);
    } else if (event.key === "Enter") {
      if (open && active >= 0) {
        event.preventDefault(); // choosing, not submitting the form
        pick(options[active]);
      } else if (input.value.trim()) {
        event.preventDefault();
      }
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        event.stopPropagation();
        close();
      } else {
        input.value = "";
      }
    } else if (event.key === "Backspace" && !input.value && chosen.length) {
      const last = chosen.pop();
      sync();
      status.textContent = `${last.name} removed.`;
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
  sync();
}

for (const root of document.querySelectorAll(".people-picker[data-search-url]")) setup(root);
