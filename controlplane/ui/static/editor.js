// The flow editor: validation as you type through the API, errors at their line, completion,
// save as a new revision. Loaded on the editor page only, after ui.js (whose `weir` it uses).
"use strict";

// -- editor: validation as you type, save as a new revision ----------------------------------

function editor() {
  const form = document.getElementById("editor");
  if (!form) return;
  const area = document.getElementById("source");
  const gutter = document.getElementById("gutter");
  const list = document.getElementById("problems");
  const validity = document.getElementById("validity");
  let bad = new Set();
  const drawGutter = () => {
    const lines = area.value.split("\n").length;
    const fragment = document.createDocumentFragment();
    for (let i = 1; i <= lines; i += 1) {
      const n = document.createElement("div");
      n.textContent = String(i);
      if (bad.has(i)) n.className = "bad";
      fragment.append(n);
    }
    gutter.replaceChildren(fragment);
    gutter.scrollTop = area.scrollTop;
  };
  const jump = (line) => {
    const lines = area.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(start, start + (lines[line - 1] || "").length);
    const height = area.scrollHeight / Math.max(lines.length, 1);
    area.scrollTop = Math.max(0, (line - 3) * height);
  };
  let timer = null;
  let round = 0;
  const validate = async () => {
    const mine = (round += 1);
    try {
      const results = await weir.api("POST", "/flows/validate", area.value, { "Content-Type": "application/x-yaml" });
      if (mine !== round) return;
      const problems = results.flatMap((r) => r.problems);
      bad = new Set(problems.filter((p) => p.severity === "error").map((p) => p.line));
      list.replaceChildren(...problems.map((p) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = `problem ${p.severity}`;
        button.textContent = `line ${p.line}:${p.column} ${p.path ? `(${p.path}) ` : ""}${p.message}`;
        button.addEventListener("click", () => jump(p.line));
        item.append(button);
        return item;
      }));
      const errors = problems.filter((p) => p.severity === "error").length;
      validity.textContent = errors ? `${errors} error${errors === 1 ? "" : "s"}` : "Valid.";
      validity.className = errors ? "error" : "ok";
    } catch (error) {
      if (mine === round) { validity.textContent = `Cannot check: ${error.message}`; validity.className = "error"; }
    }
    drawGutter();
  };
  area.addEventListener("input", () => {
    drawGutter();
    clearTimeout(timer);
    timer = setTimeout(validate, 300);
  });
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  area.addEventListener("keydown", (event) => {
    // Tab indents by two spaces; Escape then Tab leaves the editor (keyboard users are not trapped).
    if (event.key === "Escape") { area.dataset.escaped = "1"; return; }
    if (event.key === "Tab" && !event.shiftKey && !area.dataset.escaped) {
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input"));
    }
    if (event.key !== "Tab") delete area.dataset.escaped;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = document.getElementById("save-result");
    const { namespace, flow, revision } = form.dataset;
    try {
      const yaml = { "Content-Type": "application/x-yaml" };
      const saved = namespace
        ? await weir.api("PUT", `/flows/${weir.enc(namespace)}/${weir.enc(flow)}`, area.value, { ...yaml, "If-Match": `"${revision}"` })
        : await weir.api("POST", "/flows", area.value, yaml);
      result.textContent = `Saved as revision ${saved.revision}.`;
      result.className = "ok";
      window.location.href = `/ui/flows/${weir.enc(saved.namespace)}/${weir.enc(saved.id)}?tab=revisions`;
    } catch (error) {
      result.textContent = `Not saved: ${error.message}`;
      result.className = "error";
      result.setAttribute("role", "alert");
    }
  });
  drawGutter();
  validate();
  completion(area);
}

// Completion from the flow language's models: task and trigger types after "type:", and the
// keys a flow or the enclosing task takes. Arrow keys move, Enter or Tab accepts, Escape closes.
function completion(area) {
  const list = document.getElementById("completions");
  if (!list) return;
  let index = null;
  fetch("/ui/schema/completions.json", { headers: weir.headers() })
    .then((r) => (r.ok ? r.json() : null))
    .then((found) => {
      index = found;
      if (document.activeElement === area) suggest(); // typed before it arrived
    })
    .catch(() => {});
  let choices = [];
  let active = -1;
  let replace = null;
  const close = () => {
    choices = []; active = -1; list.hidden = true; list.replaceChildren();
    area.removeAttribute("aria-activedescendant");
    area.setAttribute("aria-expanded", "false");
  };
  const draw = () => {
    list.replaceChildren(...choices.map((choice, i) => {
      const item = document.createElement("li");
      item.id = `completion-${i}`;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", String(i === active));
      item.textContent = choice.label;
      item.addEventListener("mousedown", (event) => { event.preventDefault(); accept(i); });
      return item;
    }));
    list.hidden = !choices.length;
    area.setAttribute("aria-expanded", String(Boolean(choices.length)));
    if (active >= 0) area.setAttribute("aria-activedescendant", `completion-${active}`);
  };
  const accept = (i) => {
    const choice = choices[i];
    if (!choice || !replace) return;
    area.setRangeText(choice.insert, replace[0], replace[1], "end");
    close();
    area.dispatchEvent(new Event("input"));
  };
  const suggest = () => {
    if (!index) return close();
    const caret = area.selectionStart;
    const before = area.value.slice(0, caret);
    const lineStart = before.lastIndexOf("\n") + 1;
    const line = before.slice(lineStart);
    const typed = line.match(/^(\s*(?:-\s+)?type:\s*)(\S*)$/);
    if (typed) {
      const word = typed[2].toLowerCase();
      replace = [caret - typed[2].length, caret];
      choices = Object.keys(index.types).filter((t) => t.toLowerCase().includes(word))
        .slice(0, 12).map((t) => ({ label: `${t} (${index.types[t].kind})`, insert: t }));
    } else {
      const key = line.match(/^(\s*)(-\s+)?([A-Za-z]*)$/);
      if (!key || (!key[3] && !key[2])) return close();
      const indent = key[1].length + (key[2] ? key[2].length : 0);
      const keys = keysAt(area.value, lineStart, indent);
      replace = [caret - key[3].length, caret];
      choices = keys.filter((k) => k.key.toLowerCase().startsWith(key[3].toLowerCase()))
        .slice(0, 12).map((k) => ({ label: `${k.key}${k.required ? " (required)" : ""}`, insert: `${k.key}: ` }));
    }
    active = choices.length ? 0 : -1;
    draw();
  };
  const keysAt = (text, lineStart, indent) => {
    if (indent === 0) return index.flow;
    // The enclosing item: the lines at this indentation around the caret, up to its "- ".
    const lines = text.split("\n");
    let at = text.slice(0, lineStart).split("\n").length - 1;
    const own = (l) => l.length - l.trimStart().length;
    let start = at;
    while (start > 0 && own(lines[start - 1]) >= indent && !/^\s*-\s/.test(lines[start])) start -= 1;
    let end = at;
    while (end + 1 < lines.length && own(lines[end + 1]) >= indent && !/^\s*-\s/.test(lines[end + 1])) end += 1;
    for (let i = start; i <= end; i += 1) {
      const found = lines[i].match(/^\s*(?:-\s+)?type:\s*(\S+)/);
      if (found && index.types[found[1]]) return index.types[found[1]].keys;
    }
    return [];
  };
  area.setAttribute("role", "combobox");
  area.setAttribute("aria-autocomplete", "list");
  area.setAttribute("aria-controls", "completions");
  area.setAttribute("aria-expanded", "false");
  area.addEventListener("input", (event) => { if (event.isTrusted !== false) suggest(); });
  area.addEventListener("blur", close);
  area.addEventListener("keydown", (event) => {
    if (!choices.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
      draw();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      accept(active);
    } else if (event.key === "Escape") {
      close();
    }
  }, true);
}

document.addEventListener("DOMContentLoaded", editor);
