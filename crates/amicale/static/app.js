// Progressive enhancement only: every action works without this file.
"use strict";

// Tags the rich-text editor keeps when pasting; the server cleans again with
// its own allow-list, this only keeps the editing surface tidy.
// The same tags as the server's allow-list (`comms/templates/sanitize.rs`).
const KEEP = new Set(["P", "BR", "STRONG", "B", "EM", "I", "U", "S", "STRIKE", "DEL", "A", "UL", "OL", "LI", "H2", "H3", "H4", "BLOCKQUOTE", "HR", "SPAN", "DIV"]);
const DROP = new Set(["SCRIPT", "STYLE", "META", "LINK", "TITLE", "XML", "HEAD", "IFRAME", "OBJECT", "IMG"]);

const VIDEO = /^https:\/\/www\.youtube(-nocookie)?\.com\/embed\/[A-Za-z0-9_\-?=&]+$/;

function cleanNode(node, doc, allowVideo) {
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === Node.COMMENT_NODE) {
      child.remove();
    } else if (child.nodeType === Node.ELEMENT_NODE) {
      const tag = child.tagName.toUpperCase();
      if (allowVideo && tag === "IFRAME" && VIDEO.test(child.getAttribute("src") || "")) {
        // A video embed of a news body, as the server allows it.
        for (const attr of Array.from(child.attributes)) {
          if (!["src", "width", "height", "title", "allowfullscreen"].includes(attr.name)) child.removeAttribute(attr.name);
        }
        child.replaceChildren();
        continue;
      }
      if (DROP.has(tag) || tag.includes(":")) {
        // Word's <o:p> and friends carry nothing worth keeping.
        if (tag.includes(":")) { child.replaceWith(...child.childNodes); } else { child.remove(); }
        continue;
      }
      cleanNode(child, doc, allowVideo);
      if (!KEEP.has(tag)) {
        child.replaceWith(...child.childNodes);
        continue;
      }
      for (const attr of Array.from(child.attributes)) {
        const keep = tag === "A" && attr.name === "href" && /^(https?:|mailto:|tel:|\{\{)/i.test(attr.value.trim());
        if (!keep) child.removeAttribute(attr.name);
      }
    }
  }
}

function cleanHtml(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  cleanNode(doc.body, doc, false);
  return doc.body.innerHTML;
}

// The stored body, parsed in an inert document (no script runs, nothing
// loads), cleaned, and its nodes moved into the editor: the page never
// assigns stored text to innerHTML.
function loadBody(area, html, allowVideo) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  cleanNode(doc.body, doc, allowVideo);
  area.replaceChildren(...Array.from(doc.body.childNodes).map((n) => document.adoptNode(n)));
}

function setupEditor(textarea) {
  const labels = (textarea.dataset.editor || "").split("|");
  const [bold, italic, underline, strike, link, unlink, ul, ol, undo, redo, plain, linkPrompt, video, videoPrompt] = labels;
  const area = document.createElement("div");
  area.className = "editor-area";
  area.contentEditable = "true";
  area.setAttribute("role", "textbox");
  area.setAttribute("aria-multiline", "true");
  const label = document.querySelector(`label[for="${textarea.id}"]`);
  if (label) {
    label.id = label.id || `${textarea.id}-label`;
    area.setAttribute("aria-labelledby", label.id);
    label.addEventListener("click", () => area.focus());
  }
  loadBody(area, textarea.value, textarea.dataset.video === "on");
  const bar = document.createElement("div");
  bar.className = "editor-bar";
  bar.setAttribute("role", "toolbar");
  let plainPaste = false;
  const sync = () => { textarea.value = area.innerHTML; };
  const button = (text, title, action, toggle) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = title;
    b.setAttribute("aria-label", title);
    if (toggle) b.setAttribute("aria-pressed", "false");
    b.addEventListener("mousedown", (e) => e.preventDefault()); // keep the selection
    b.addEventListener("click", () => { action(b); area.focus(); sync(); });
    bar.appendChild(b);
  };
  const exec = (cmd, value) => () => document.execCommand(cmd, false, value);
  button("B", bold, exec("bold"));
  button("I", italic, exec("italic"));
  button("U", underline, exec("underline"));
  button("S", strike, exec("strikeThrough"));
  button(link, link, () => {
    const url = window.prompt(linkPrompt, "https://");
    if (url && /^(https?:|mailto:|tel:|\{\{)/i.test(url.trim())) document.execCommand("createLink", false, url.trim());
  });
  button(unlink, unlink, exec("unlink"));
  button("•", ul, exec("insertUnorderedList"));
  button("1.", ol, exec("insertOrderedList"));
  button("↶", undo, exec("undo"));
  button("↷", redo, exec("redo"));
  button(plain, plain, (b) => { plainPaste = !plainPaste; b.setAttribute("aria-pressed", String(plainPaste)); }, true);
  if (textarea.dataset.video === "on") {
    button(video, video, () => {
      const url = window.prompt(videoPrompt, "https://www.youtube.com/watch?v=");
      const id = url && (url.match(/(?:v=|youtu\.be\/|embed\/)([\w-]{6,})/) || [])[1];
      if (id) document.execCommand("insertHTML", false, `<iframe src="https://www.youtube-nocookie.com/embed/${id}" width="560" height="315" title="YouTube" allowfullscreen></iframe>`);
    });
  }
  area.addEventListener("paste", (e) => {
    const data = e.clipboardData;
    if (!data) return;
    e.preventDefault();
    const html = data.getData("text/html");
    if (plainPaste || !html) {
      document.execCommand("insertText", false, data.getData("text/plain"));
    } else {
      document.execCommand("insertHTML", false, cleanHtml(html));
    }
    sync();
  });
  area.addEventListener("input", sync);
  textarea.form && textarea.form.addEventListener("submit", sync);
  const wrap = document.createElement("div");
  wrap.className = "editor";
  wrap.append(bar, area);
  textarea.hidden = true;
  textarea.after(wrap);
}

function setupSmsCounter(textarea) {
  const out = document.getElementById(textarea.dataset.smsCounter);
  if (!out) return;
  let timer = null;
  let seq = 0;
  const update = () => {
    const mine = ++seq;
    fetch(`/admin/templates/sms-count?text=${encodeURIComponent(textarea.value)}`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((j) => { if (j && mine === seq) out.textContent = j.label; })
      .catch(() => {});
  };
  textarea.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 150); });
  update();
}

// Live progress of a send through server-sent events; without scripts the
// page refreshes itself (a <noscript> meta refresh).
function setupProgress(box) {
  if (!window.EventSource) return;
  const source = new EventSource(box.dataset.events);
  const set = (name, value) => {
    const el = box.querySelector(`[data-field="${name}"]`);
    if (el) el.textContent = String(value);
  };
  source.addEventListener("progress", (e) => {
    const p = JSON.parse(e.data);
    for (const k of ["total", "queued", "sending", "sent", "deferred", "failed", "suppressed", "cancelled", "per_minute"]) set(k, p[k]);
    set("eta", p.eta_secs == null ? "—" : `${Math.floor(p.eta_secs / 60)}:${String(p.eta_secs % 60).padStart(2, "0")}`);
    const bar = box.querySelector('[data-field="bar"]');
    if (bar) bar.value = p.sent + p.failed + p.cancelled + p.suppressed;
    if (p.finished) {
      source.close();
      window.location.reload();
    }
  });
  source.addEventListener("error", () => source.close());
}

// Under 48rem the menus fold behind one button; without this script they
// simply stay open.
function setupMenu(button) {
  document.documentElement.classList.add("js");
  button.hidden = false;
  button.addEventListener("click", () => {
    const open = document.body.classList.toggle("menu-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
}

// A form's fields that belong to one choice of a select[data-switch] show
// only when it is chosen (data-when lists the choices); without this
// script every field shows and the server ignores those of other choices.
function setupSwitch(select) {
  const form = select.form;
  if (!form) return;
  const fields = form.querySelectorAll("[data-when]");
  const update = () => {
    for (const f of fields) f.hidden = !f.dataset.when.split(" ").includes(select.value);
  };
  select.addEventListener("change", update);
  update();
}

// Search as you type: typing in a search box of a GET form[data-live]
// fetches the same page and swaps in its results region (the selector in
// data-live), a quarter second after the last key. The form still
// submits as before; answers that arrive late are dropped.
function setupLive(form) {
  const target = form.dataset.live;
  if (!window.fetch || !window.DOMParser || !document.querySelector(target)) return;
  let timer;
  let asked = 0;
  const run = () => {
    const query = new URLSearchParams(new FormData(form)).toString();
    const url = form.action + (query ? "?" + query : "");
    const mine = ++asked;
    fetch(url, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => {
        if (html === null || mine !== asked) return;
        const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(target);
        const current = document.querySelector(target);
        if (!fresh || !current) return;
        current.replaceWith(document.importNode(fresh, true));
        for (const s of document.querySelectorAll(target + " select[data-switch]")) setupSwitch(s);
        history.replaceState(null, "", url);
      })
      .catch(() => {});
  };
  for (const input of form.querySelectorAll("input[type=search]")) {
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(run, 250);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const menu = document.querySelector(".menu-toggle");
  if (menu) setupMenu(menu);
  const progress = document.querySelector("#send-progress[data-events]");
  if (progress) setupProgress(progress);
  // The language selector submits itself; its button stays for no-JS users.
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    const select = form.querySelector("select");
    const button = form.querySelector("button");
    if (!select || !button) continue;
    button.hidden = true;
    select.addEventListener("change", () => form.submit());
  }
  document.execCommand && document.execCommand("styleWithCSS", false, false);
  for (const t of document.querySelectorAll("textarea[data-editor]")) setupEditor(t);
  for (const t of document.querySelectorAll("textarea[data-sms-counter]")) setupSmsCounter(t);
  for (const b of document.querySelectorAll("button.copy[data-copy]")) {
    if (!navigator.clipboard) continue;
    b.hidden = false;
    b.addEventListener("click", () => navigator.clipboard.writeText(b.dataset.copy));
  }
  for (const s of document.querySelectorAll("select[data-switch]")) setupSwitch(s);
  for (const f of document.querySelectorAll("form[data-live]")) setupLive(f);
  for (const f of document.querySelectorAll("form[data-confirm]")) {
    f.addEventListener("submit", (e) => { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
  }
});
