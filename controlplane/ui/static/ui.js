// Weir's web UI: the small script behind the server-rendered pages. It acts and follows live
// state through the same /api/v1 API as any client, with the signed-in token as a bearer token.
"use strict";

const weir = (() => {
  const token = () => {
    const found = document.cookie.split("; ").find((c) => c.startsWith("weir_token="));
    return found ? decodeURIComponent(found.slice("weir_token=".length)) : "";
  };

  const headers = (extra = {}) => {
    const h = { ...extra };
    if (token()) h.Authorization = `Bearer ${token()}`;
    return h;
  };

  async function api(method, path, body, extra = {}) {
    const init = { method, headers: headers(extra) };
    if (body instanceof FormData) init.body = body;
    else if (typeof body === "string") init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(`/api/v1${path}`, init);
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (!response.ok) {
      const message = (data && data.message) || `${response.status} ${response.statusText}`;
      const error = new Error(message);
      error.status = response.status;
      error.data = data;
      throw error;
    }
    return data;
  }

  function notice(text, kind = "info") {
    const box = document.getElementById("notice");
    if (!box) return;
    box.textContent = text;
    box.className = `notice ${kind}`;
    box.hidden = false;
    if (kind === "error") box.setAttribute("role", "alert");
    else box.setAttribute("role", "status");
  }

  const enc = encodeURIComponent;
  return { api, notice, headers, enc };
})();

// -- execution page: live parts, actions, logs ---------------------------------------------

function liveExecution() {
  const live = document.getElementById("live");
  if (!live) return;
  const refresh = async () => {
    if (live.dataset.terminal === "true") return;
    try {
      const response = await fetch(live.dataset.src, { headers: weir.headers() });
      if (response.redirected) {
        window.location.reload(); // signed out meanwhile: the page itself goes to sign-in
        return;
      }
      if (response.ok) {
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        const open = new Set([...live.querySelectorAll("details[open] summary")].map((s) => s.textContent.trim().split(" ")[0]));
        const fresh = doc.body;
        fresh.querySelectorAll(".tree details summary").forEach((s) => {
          if (open.has(s.textContent.trim().split(" ")[0])) s.parentElement.open = true;
        });
        live.replaceChildren(...fresh.childNodes);
        const summary = live.querySelector(".summary");
        const state = summary ? summary.dataset.state : "";
        const ended = ["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED"].includes(state);
        live.dataset.terminal = String(ended);
        if (state !== live.dataset.state) {
          live.dataset.state = state;
          await refreshToolbar(); // e.g. a pause's resume form, known once it pauses
        }
        syncActions(state, ended);
      }
    } catch { /* the next round tries again */ }
    if (live.dataset.terminal !== "true") setTimeout(refresh, 1000);
  };
  setTimeout(refresh, 1000);
}

async function refreshToolbar() {
  const toolbar = document.querySelector(".toolbar");
  if (!toolbar) return;
  const response = await fetch(window.location.pathname, { headers: weir.headers() });
  if (!response.ok) return;
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = doc.querySelector(".toolbar");
  if (!fresh) return;
  const open = toolbar.querySelector("details.resume")?.open;
  toolbar.replaceWith(fresh);
  if (open && fresh.querySelector("details.resume")) fresh.querySelector("details.resume").open = true;
  executionActions();
}

function syncActions(state, ended) {
  const kill = document.querySelector('[data-action="kill"]');
  const restart = document.querySelector('[data-action="restart"]');
  const resume = document.querySelector("details.resume");
  if (kill) kill.disabled = ended;
  if (restart) restart.disabled = !ended;
  if (resume) resume.hidden = state !== "PAUSED";
}

function executionActions() {
  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      const id = button.dataset.id;
      const action = button.dataset.action;
      if (action === "kill" && !confirm("Kill this execution and its running tasks?")) return;
      button.disabled = true;
      try {
        if (action === "kill") await weir.api("DELETE", `/executions/${weir.enc(id)}/kill`);
        if (action === "restart") await weir.api("POST", `/executions/${weir.enc(id)}/restart`);
        if (action === "replay") {
          const replayed = await weir.api("POST", `/executions/${weir.enc(id)}/replay`);
          window.location.href = `/ui/executions/${weir.enc(replayed.id)}`;
          return;
        }
        weir.notice(`${action} accepted`);
        restartLive();
      } catch (error) {
        weir.notice(`${action} refused: ${error.message}`, "error");
      }
      button.disabled = false;
    });
  });
  const resume = document.querySelector("form[data-resume]");
  if (resume) {
    resume.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const inputs = {};
        for (const field of resume.elements) {
          if (!field.name || field.type === "submit") continue;
          if (field.type === "checkbox") inputs[field.name] = field.checked;
          else if (field.multiple) inputs[field.name] = [...field.selectedOptions].map((o) => o.value);
          else if (field.value !== "") inputs[field.name] = field.value;
        }
        await weir.api("POST", `/executions/${weir.enc(resume.dataset.resume)}/resume`, { inputs });
        weir.notice("resumed");
        restartLive();
      } catch (error) {
        weir.notice(`resume refused: ${error.message}`, "error");
      }
    });
  }
}

function restartLive() {
  const live = document.getElementById("live");
  if (live && live.dataset.terminal === "true") {
    live.dataset.terminal = "false";
    liveExecution();
  }
  startLogs();
}

let logStream = null;

function startLogs() {
  const bar = document.getElementById("logbar");
  const box = document.getElementById("logs");
  if (!bar || !box) return;
  if (logStream) logStream.abort();
  const controller = new AbortController();
  logStream = controller;
  box.replaceChildren();
  const level = bar.elements.level.value;
  const url = `/api/v1/executions/${weir.enc(bar.dataset.execution)}/logs/follow?min_level=${level}`;
  let pending = [];
  let count = 0;
  const flush = () => {
    if (!pending.length) return;
    const fragment = document.createDocumentFragment();
    const task = bar.elements.task.value;
    for (const line of pending) {
      // Two elements a line, fixed-width columns in one text: 10,000 lines stay cheap to lay out.
      const row = document.createElement("div");
      row.className = `log l-${line.level.toLowerCase()}`;
      row.dataset.task = line.taskId || "";
      row.hidden = Boolean(task) && row.dataset.task !== task;
      const meta = document.createElement("span");
      meta.className = "meta";
      const name = (line.taskId || "").padEnd(14).slice(0, 14);
      meta.textContent = `${line.at.slice(11, 23)} ${line.level.padEnd(5)} ${name} `;
      row.append(meta, line.message);
      fragment.append(row);
    }
    if (!count) performance.mark("weir:logs-first");
    count += pending.length;
    pending = [];
    box.classList.toggle("many", count > 500);
    box.append(fragment);
    document.getElementById("log-count").textContent = `${count} line${count === 1 ? "" : "s"}`;
    if (bar.elements.follow.checked) box.scrollTop = box.scrollHeight;
  };
  const onEvent = (kind, data) => {
    if (kind === "log") {
      pending.push(JSON.parse(data));
      if (pending.length === 1) requestAnimationFrame(flush);
    }
    if (kind === "end") {
      flush();
      // Every line so far is drawn: a mark for bench/ui.py (and the browser's profiler).
      performance.mark("weir:logs-drawn");
    }
  };
  readEvents(url, controller.signal, onEvent).catch(() => {});
}

async function readEvents(url, signal, onEvent) {
  // Server-Sent Events read with fetch, so that the bearer token travels in a header.
  const response = await fetch(url, { headers: weir.headers({ Accept: "text/event-stream" }), signal });
  if (!response.ok || !response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(kind, data.join("\n"));
    }
  }
}

function logFilters() {
  const bar = document.getElementById("logbar");
  if (!bar) return;
  bar.addEventListener("submit", (event) => event.preventDefault());
  bar.elements.level.addEventListener("change", startLogs);
  bar.elements.task.addEventListener("change", () => {
    const task = bar.elements.task.value;
    document.querySelectorAll("#logs .log").forEach((row) => {
      row.hidden = Boolean(task) && row.dataset.task !== task;
    });
  });
  startLogs();
}

function fileDownloads() {
  document.addEventListener("click", async (event) => {
    const link = event.target.closest("a[data-download]");
    if (!link) return;
    event.preventDefault();
    const response = await fetch(link.href, { headers: weir.headers() });
    if (!response.ok) { weir.notice(`download failed: ${response.status}`, "error"); return; }
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = link.dataset.download.split("/").pop();
    a.click();
    URL.revokeObjectURL(url);
  });
}

// -- executions list: live states ----------------------------------------------------------

function liveList() {
  const table = document.querySelector('[data-live="executions"]');
  if (!table) return;
  const page = new URLSearchParams(window.location.search);
  const query = new URLSearchParams({ size: "50" });
  if (page.get("namespace")) query.set("namespace", page.get("namespace"));
  if (page.get("flow")) query.set("flow_id", page.get("flow"));
  page.getAll("state").forEach((s) => query.append("state", s));
  (page.get("labels") || "").split(/[\s,]+/).filter(Boolean).forEach((l) => query.append("labels", l));
  for (const key of ["since", "until"]) if (page.get(key)) query.set(key, page.get(key));
  if (page.get("after")) query.set("after", page.get("after"));
  const poll = async () => {
    try {
      const found = await weir.api("GET", `/executions/search?${query}`);
      const fresh = found.results.filter((e) => !table.querySelector(`tr[data-id="${CSS.escape(e.id)}"]`));
      if (!page.get("after") && fresh.length) {
        const more = document.getElementById("newer");
        more.hidden = false;
        more.querySelector("span").textContent = `${fresh.length}${fresh.length === 50 ? "+" : ""} newer`;
      }
      for (const execution of found.results) {
        const cell = table.querySelector(`tr[data-id="${CSS.escape(execution.id)}"] .st .state`);
        const state = execution.state.current;
        if (cell && cell.dataset.state !== state) {
          cell.dataset.state = state;
          cell.textContent = state;
          cell.className = `state s-${state.toLowerCase()}`;
        }
      }
    } catch { /* the next round tries again */ }
    setTimeout(poll, 3000);
  };
  setTimeout(poll, 3000);
}

// -- flows: start form, backfill --------------------------------------------------------------

function startForm() {
  const form = document.getElementById("start-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData();
    for (const field of form.elements) {
      if (!field.name || field.type === "submit") continue;
      const kind = field.dataset.type;
      if (kind === "labels") {
        field.value.split(/\s+/).filter(Boolean).forEach((l) => data.append("labels", l));
      } else if (field.type === "checkbox") {
        data.append(field.name, field.checked ? "true" : "false");
      } else if (field.type === "file") {
        if (field.files.length) data.append(field.name, field.files[0], field.files[0].name);
      } else if (field.multiple) {
        data.append(field.name, JSON.stringify([...field.selectedOptions].map((o) => o.value)));
      } else if (field.value !== "") {
        data.append(field.name, field.value);
      }
    }
    const path = `/executions/${weir.enc(form.dataset.namespace)}/${weir.enc(form.dataset.flow)}`;
    try {
      const execution = await weir.api("POST", path, data);
      window.location.href = `/ui/executions/${weir.enc(execution.id)}`;
    } catch (error) {
      weir.notice(`not started: ${error.message}`, "error");
    }
  });
}

function backfillForms() {
  document.querySelectorAll("form.backfill").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { start: form.elements.start.value };
      if (form.elements.end.value) body.end = form.elements.end.value;
      const { namespace, flow, trigger } = form.dataset;
      const path = `/triggers/${weir.enc(namespace)}/${weir.enc(flow)}/${weir.enc(trigger)}/backfill`;
      try {
        await weir.api("PUT", path, body);
        weir.notice(`backfill of ${trigger} accepted; reload to follow its progress`);
      } catch (error) {
        weir.notice(`backfill refused: ${error.message}`, "error");
      }
    });
  });
}

// -- keyboard --------------------------------------------------------------------------------

function shortcuts() {
  // "/" focuses the page's first filter field, as on most list pages people know.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.target.closest("input, textarea, select")) return;
    const field = document.querySelector(".filters input:not([type=hidden])");
    if (field) { event.preventDefault(); field.focus(); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  liveExecution();
  executionActions();
  logFilters();
  fileDownloads();
  liveList();
  startForm();
  backfillForms();
  shortcuts();
});
