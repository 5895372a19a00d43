"use strict";
// The status page's script. It shows what `manage/status` and `manage/runs` answer (the CLI's and the API's own
// operations) and calls `manage/resync` and `manage/subscriptions/renew`; it decides nothing the product owns.
// The admin key arrives once in the page's URL (?code=); it is taken out of the address bar at once and sent
// only in the x-functions-key header, so it is in no URL the page requests and in no link it shows.
(() => {
  const base = location.pathname.replace(/status-page\/?$/, "");
  const params = new URLSearchParams(location.search);
  let key = params.get("code") || "";
  if (params.has("code")) {
    params.delete("code");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  }

  const STATUS_FIELDS = new Set(["generated", "healthy", "state", "paused", "users", "unmapped", "rejected_users",
    "rejected_rows", "subscriptions", "cursors", "queues", "poison", "recent_runs", "alerts", "problems", "choices"]);
  // Counts that are writes to a calendar or to OpenAir (the rest, such as unchanged or planned, are not).
  const WRITES = ["created", "updated", "deleted", "recovered", "retyped"];
  const KIND_WORDS = {
    "export-plan": "Export: planning", "export-mailbox": "Export: writes to mailboxes",
    "export-plan-user": "Export: one user", "export-record": "Push: one record", "import-mailbox": "Import",
    "import-subscriptions": "Import: subscriptions", "resync-update": "Resync (update)",
    "resync-recreate": "Resync (recreate)",
  }; // other kinds (cutover-…) show in plain words
  const OUTCOMES = { ok: ["✔ ok", "outcome-ok"], partial: ["⚠ partial", "outcome-warn"],
    paused: ["❚❚ paused", "outcome-warn"], failed: ["✖ failed", "outcome-bad"],
    blocked: ["✖ blocked by the deletion guard", "outcome-bad"], poison: ["✖ poisoned", "outcome-bad"] };
  const CHART_DAYS = 7;

  const view = { status: null, runs: [], sort: "user", direction: 1, filter: "", show: "all", loading: false,
    again: false };
  const $ = (selector) => document.querySelector(selector);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child)); // text, never markup
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    return node;
  }

  function fill(tbody, rows, columns, empty) {
    const body = typeof tbody === "string" ? $(tbody) : tbody;
    if (!rows.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: columns, class: "muted" }, empty)));
      return;
    }
    const fragment = document.createDocumentFragment();
    for (const row of rows) fragment.append(row);
    body.replaceChildren(fragment);
  }

  async function api(path, options) {
    const headers = { Accept: "application/json" };
    if (key) headers["x-functions-key"] = key;
    const init = { method: (options && options.method) || "GET", headers, cache: "no-store",
      credentials: "same-origin" };
    if (options && options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(base + path, init);
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!response.ok) {
      let message = `${init.method} ${path} answered ${response.status}`;
      if (data && data.error) message += `: ${data.error}`;
      if (response.status === 401) {
        message = "The admin key is missing or was refused. Open the page again with its link " +
          "(…/status-page?code=<admin key>); the key is taken out of the address bar, so reloading the browser " +
          "page needs the link again — the Refresh button does not.";
      }
      throw new Error(message);
    }
    return data;
  }

  // ---- words and times -------------------------------------------------------------------------------------
  function parseTime(text) {
    if (!text) return null;
    const value = Date.parse(String(text).replace(" UTC", "Z").replace(" ", "T"));
    return Number.isNaN(value) ? null : value;
  }

  function ago(text) {
    const when = parseTime(text);
    if (when === null) return "";
    const seconds = Math.round((Date.now() - when) / 1000);
    const future = seconds < 0;
    const size = Math.abs(seconds);
    const amount = size < 90 ? `${size} s` : size < 5400 ? `${Math.round(size / 60)} min`
      : size < 129600 ? `${Math.round(size / 3600)} h` : `${Math.round(size / 86400)} days`;
    return future ? `in ${amount}` : `${amount} ago`;
  }

  function when(text) {
    if (!text) return el("span", { class: "muted" }, "never");
    const relative = ago(text);
    return el("time", { datetime: String(text).replace(" UTC", "Z").replace(" ", "T"), title: text },
      relative || text);
  }

  const words = (name) => String(name).replaceAll("_", " ").replaceAll("-", " ");
  // `manage/status` says each user's switches in words already (shared/kinds.py `KindSpec.words`).
  const switchWords = (switches) => (switches || []).map(words);
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || `${one}s`}`;

  function outcome(status) {
    const [text, cls] = OUTCOMES[status] || [status || "unknown", "outcome-warn"];
    return el("span", { class: cls }, text);
  }

  function countsList(counts) {
    const entries = Object.entries(counts || {});
    if (!entries.length) return el("p", { class: "muted" }, "No counts.");
    return el("dl", { class: "counts" }, entries.map(([name, value]) => [el("dt", {}, words(name)), el("dd", {}, value)]));
  }

  // ---- runs: one row per run (the rows of one run, such as its mailboxes, are added up) ----------------------
  function written(row) {
    if (String(row.kind || "").includes("subscription")) return 0; // subscriptions are not events
    return WRITES.reduce((sum, name) => sum + (Number((row.counts || {})[name]) || 0), 0);
  }

  function errorsOf(row) {
    return typeof row.errors === "number" ? row.errors : Array.isArray(row.errors) ? row.errors.length : 0;
  }

  const SEVERITY = ["ok", "paused", "partial", "blocked", "failed", "poison"];
  function worse(a, b) {
    return SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a;
  }

  function groupRuns(rows, keyOf) {
    const groups = new Map();
    for (const row of rows) {
      const id = keyOf(row);
      let group = groups.get(id);
      if (!group) {
        group = { id: row.run_id, kind: row.kind, kinds: new Set(), started: row.started, status: row.status || "ok",
          users: new Set(), mailboxes: 0, written: 0, errors: 0, first: "" };
        groups.set(id, group);
      }
      group.kinds.add(row.kind);
      if ((parseTime(row.started) || 0) < (parseTime(group.started) || 0)) group.started = row.started;
      group.status = worse(group.status, row.status || "ok");
      // Rows of one run per mailbox (`user`), or one row per run that counts its `mailboxes`.
      if (typeof row.mailboxes === "number") group.mailboxes += row.mailboxes;
      else if (row.user && !group.users.has(row.user)) { group.users.add(row.user); group.mailboxes += 1; }
      group.written += written(row);
      group.errors += errorsOf(row);
      const note = (row.alerts || [])[0] || row.first_error || ""; // a fired guard says more than a skipped row
      if (note && !group.first) group.first = note;
    }
    return [...groups.values()];
  }

  function renderLastRuns(runs) {
    const byKind = groupRuns(runs, (r) => `${r.kind}\u0000${r.run_id}`);
    const latest = new Map();
    for (const run of byKind) {
      const seen = latest.get(run.kind);
      if (!seen || (parseTime(run.started) || 0) > (parseTime(seen.started) || 0)) latest.set(run.kind, run);
    }
    const order = Object.keys(KIND_WORDS);
    const rows = [...latest.values()].sort((a, b) => {
      const ia = order.indexOf(a.kind), ib = order.indexOf(b.kind);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || collator.compare(String(a.kind), String(b.kind));
    }).map((run) => el("tr", {},
      el("th", { scope: "row" }, KIND_WORDS[run.kind] || words(run.kind)),
      el("td", {}, when(run.started)),
      el("td", {}, outcome(run.status)),
      el("td", { class: "num" }, run.mailboxes || ""),
      el("td", { class: "num" }, run.written),
      el("td", { class: "num" }, run.errors),
      el("td", { class: "error small" }, run.first)));
    fill("#last-runs tbody", rows, 7, "No run recorded yet.");
  }

  function renderChart(runs) {
    const since = Date.now() - CHART_DAYS * 86400000;
    const points = groupRuns(runs.filter((r) => (parseTime(r.started) || 0) >= since), (r) => r.run_id)
      .sort((a, b) => (parseTime(a.started) || 0) - (parseTime(b.started) || 0));
    const chart = $("#chart");
    chart.replaceChildren();
    const width = 800, middle = 110, up = 100, down = 45;
    const top = Math.max(1, ...points.map((p) => p.written));
    const topErrors = Math.max(1, ...points.map((p) => p.errors));
    const step = points.length ? width / points.length : width;
    const bar = Math.max(1, Math.min(24, step * 0.7));
    points.forEach((p, i) => {
      const x = i * step + (step - bar) / 2;
      const h = (p.written / top) * up;
      if (h > 0) chart.append(svg("rect", { class: "written", x, y: middle - h, width: bar, height: h }));
      const e = (p.errors / topErrors) * down;
      if (e > 0) chart.append(svg("rect", { class: "errors", x, y: middle + 1, width: bar, height: e }));
    });
    chart.append(svg("line", { class: "axis", x1: 0, x2: width, y1: middle, y2: middle }));
    const totalWritten = points.reduce((s, p) => s + p.written, 0);
    const totalErrors = points.reduce((s, p) => s + p.errors, 0);
    const span = points.length ? ` from ${points[0].started} to ${points[points.length - 1].started}` : "";
    $("#chart-summary").replaceChildren(
      el("span", { class: "key-written" }, `Events written (bars above the line, highest ${top})`), "; ",
      el("span", { class: "key-errors" }, `errors (bars below the line, highest ${points.length ? topErrors : 0})`),
      `. ${plural(points.length, "run")} in the last ${CHART_DAYS} days of the run history${span}: ` +
      `${totalWritten} written, ${plural(totalErrors, "error")}.`);
    const rows = points.slice().reverse().map((p) => el("tr", {},
      el("td", { class: "small" }, p.id), el("td", {}, p.started),
      el("td", {}, [...p.kinds].map((k) => KIND_WORDS[k] || words(k)).join(", ")),
      el("td", { class: "num" }, p.written), el("td", { class: "num" }, p.errors)));
    fill("#chart-table tbody", rows, 5, "No run in these days.");
  }

  // ---- users -------------------------------------------------------------------------------------------------
  const SORTS = {
    user: (u) => u.user_id, mailbox: (u) => u.mailbox, mapped_by: (u) => u.mapped_by,
    switches: (u) => switchWords(u.switches).join(", "), last_export: (u) => u.last_export,
    last_import: (u) => u.last_import, pending: (u) => u.pending_writes || 0, error: (u) => u.last_error,
  };

  function matches(user) {
    const show = view.show;
    if (show === "error" && !user.last_error) return false;
    if (show === "pending" && !user.pending_writes) return false;
    if (show === "unresolved" && user.resolved !== false) return false;
    if (show === "import" && !(user.switches || []).includes("import")) return false;
    if (!view.filter) return true;
    const haystack = [user.user_id, user.name, user.mailbox, user.mapped_by, user.last_error,
      switchWords(user.switches).join(" ")].join(" ").toLowerCase();
    return view.filter.split(/\s+/).every((word) => haystack.includes(word));
  }

  const collator = new Intl.Collator(undefined, { numeric: true }); // one, not one per comparison (500 users)
  function compare(a, b) {
    const get = SORTS[view.sort] || SORTS.user;
    const x = get(a), y = get(b);
    if (typeof x === "number" && typeof y === "number") return (x - y) * view.direction;
    return collator.compare(String(x || ""), String(y || "")) * view.direction;
  }

  function userRow(user) {
    const name = user.name || user.user_id;
    const switches = switchWords(user.switches);
    return el("tr", {},
      el("th", { scope: "row" }, el("span", {}, name), el("br"), el("span", { class: "muted small" }, `id ${user.user_id}`)),
      el("td", {}, user.mailbox, user.resolved === false
        ? [el("br"), el("span", { class: "outcome-warn small" }, "⚠ mailbox not resolved")] : null),
      el("td", {}, user.mapped_by),
      el("td", {}, switches.length ? switches.join(", ") : el("span", { class: "muted" }, "nothing"),
        user.import_filter ? [el("br"), el("span", { class: "small" }, `import: ${user.import_filter}`)] : null),
      el("td", {}, when(user.last_export), user.last_export_counts
        ? [el("br"), el("span", { class: "small" }, user.last_export_counts)] : null),
      el("td", {}, (user.switches || []).includes("import") || user.last_import ? when(user.last_import)
        : el("span", { class: "muted" }, "not importing")),
      el("td", { class: "num" }, user.pending_writes || 0),
      el("td", { class: "error small" }, user.last_error ? [`✖ ${user.last_error}`,
        user.last_error_at ? el("span", { class: "muted" }, ` (${user.last_error_at})`) : null] : ""),
      el("td", {}, el("button", { type: "button", "aria-label": `Resync ${name}…`, "data-user": user.user_id,
        onclick: () => openResync(user) }, "Resync…")));
  }

  let rowsOf = new WeakMap(); // user -> its row, built once per load: filtering and sorting only reorder rows

  function renderUsers() {
    const users = (view.status && view.status.users) || [];
    const shown = users.filter(matches).sort(compare);
    fill("#user-table tbody", shown.map((user) => {
      let row = rowsOf.get(user);
      if (!row) rowsOf.set(user, (row = userRow(user)));
      return row;
    }), 9,
      users.length ? "No user matches the filter." : "No user is mapped yet.");
    $("#user-count").textContent = `Showing ${shown.length} of ${plural(users.length, "mapped user")}`;
    for (const th of document.querySelectorAll("#user-table th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset.sort === view.sort
        ? (view.direction > 0 ? "ascending" : "descending") : "none");
    }
  }

  // ---- the rest of the status --------------------------------------------------------------------------------
  // A rejected row reads "<table> row '<key>': column <column> <what is wrong and what is allowed>".
  const REJECTED = /^(\S+) row '(.*?)': column (\S+) ([\s\S]*)$/;
  function rejectedRow(item) {
    const text = typeof item === "string" ? item : JSON.stringify(item);
    const parts = REJECTED.exec(text);
    if (!parts) return el("tr", {}, el("td", { colspan: 4, class: "error" }, text));
    return el("tr", {}, el("td", {}, parts[1]), el("th", { scope: "row" }, parts[2]), el("td", {}, parts[3]),
      el("td", { class: "error" }, parts[4]));
  }

  function renderAttention(status) {
    const items = [];
    const bad = (text) => el("li", { class: "bad" }, text);
    for (const alert of status.alerts || []) items.push(bad(`✖ ${alert}`));
    const errors = (status.users || []).filter((u) => u.last_error).length;
    if (errors) items.push(bad(`✖ ${plural(errors, "user")} with an error (show: with an error)`));
    const rejected = (status.rejected_rows || []).length;
    if (rejected) items.push(bad(`✖ ${plural(rejected, "rejected row")} (see Rejected rows)`));
    const poisoned = Object.values(status.poison || {}).reduce((n, list) => n + list.length, 0);
    if (poisoned) items.push(bad(`✖ ${plural(poisoned, "poison message")}`));
    const expiring = (status.subscriptions || []).filter((s) => s.state === "expired" || s.state === "expiring");
    if (expiring.length) items.push(bad(`⚠ ${plural(expiring.length, "subscription")} expired or expiring`));
    const unresolved = (status.users || []).filter((u) => u.resolved === false).length;
    if (unresolved) items.push(el("li", {}, `⚠ ${plural(unresolved, "mailbox", "mailboxes")} not resolved yet`));
    if ((status.unmapped || []).length) {
      items.push(el("li", {}, `${plural(status.unmapped.length, "OpenAir user")} without a mailbox`));
    }
    for (const problem of status.problems || []) items.push(bad(`⚠ ${problem}`));
    if (!items.length) items.push(el("li", {}, "✔ Nothing: every user synced without an error."));
    $("#attention").replaceChildren(...items);
  }

  function renderState(status) {
    const state = $("#state");
    const paused = status.paused;
    const parts = [];
    if (paused) {
      const detail = typeof paused === "object" ? paused : {};
      parts.push(el("span", { class: "paused-banner" }, "❚❚ PAUSED"), " Nothing is written until the sync is resumed",
        detail.since ? ` (since ${detail.since}${detail.by ? `, by ${detail.by}` : ""})` : "",
        detail.reason ? `: ${detail.reason}` : "", ". ");
    } else {
      parts.push("▶ Running. ");
    }
    const verdict = status.state || (status.healthy ? "healthy" : "failing");
    const VERDICTS = { healthy: "✔ Healthy.", warnings: "⚠ Warnings: rows are rejected (see below).",
      failing: "✖ Needs attention (see below).", paused: status.healthy ? "" : "See below for what needs attention." };
    parts.push(VERDICTS[verdict] ?? `${words(verdict)}.`);
    const text = parts.map((p) => (typeof p === "string" ? p : p.textContent)).join("");
    if (state.textContent === text && state.dataset.state === verdict) return; // a live region: say changes only
    state.className = `state ${paused ? "paused" : verdict === "healthy" ? "ok" : verdict === "warnings" ? "warn" : "bad"}`;
    state.dataset.state = verdict;
    state.replaceChildren(...parts);
  }

  function renderStatus(status) {
    // A keyboard user on a row's button (or back from its dialog) stays on that user's button after a refresh.
    const focused = returnTo || (document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.user : null);
    returnTo = null;
    rowsOf = new WeakMap();
    renderState(status);
    renderAttention(status);
    renderUsers();
    const again = focused && [...document.querySelectorAll("#user-table button[data-user]")]
      .find((b) => b.dataset.user === focused);
    if (again) again.focus();
    const choices = status.choices || [];
    $("#choices-section").hidden = !choices.length;
    $("#choices").replaceChildren(...choices.map((text) => el("li", {}, text)));
    $("#unmapped").replaceChildren(...(status.unmapped || []).map((text) => el("li", {}, text)));
    if (!(status.unmapped || []).length) $("#unmapped").replaceChildren(el("li", { class: "muted" }, "None."));
    fill("#rejected tbody", (status.rejected_rows || []).map(rejectedRow), 4, "None.");
    const skipped = status.rejected_users || [];
    $("#rejected-users-section").hidden = !skipped.length;
    fill("#rejected-users tbody", skipped.map((u) => el("tr", {}, el("th", { scope: "row" }, u.user_id),
      el("td", {}, u.mailbox || ""), el("td", { class: "error" }, u.problem || ""))), 3, "None.");
    const states = { active: "✔ active", expiring: "⚠ expiring", expired: "✖ expired" };
    fill("#subscriptions tbody", (status.subscriptions || []).map((s) => el("tr", {},
      el("td", {}, s.user), el("td", { class: "small" }, s.id), el("td", {}, s.expires, " ", el("span", { class: "muted" }, ago(s.expires))),
      el("td", { class: s.state === "active" ? "outcome-ok" : "outcome-bad" }, states[s.state] || s.state))),
    4, "None: no mailbox imports, or the subscription timer has not run yet.");
    const poison = [];
    for (const [queue, messages] of Object.entries(status.poison || {})) {
      for (const m of messages) {
        const body = m.message && typeof m.message === "object" ? m.message : {};
        poison.push(el("tr", {}, el("td", {}, queue), el("td", {}, body.user_id || ""), el("td", {}, m.inserted || ""),
          el("td", { class: "num" }, m.dequeue_count ?? ""),
          el("td", { class: "small" }, typeof m.message === "string" ? m.message : JSON.stringify(m.message))));
      }
    }
    fill("#poison tbody", poison, 5, "None.");
    fill("#queues tbody", Object.entries(status.queues || {}).map(([name, count]) => el("tr", {},
      el("td", {}, name), el("td", { class: "num" }, count ?? "unknown"))), 2, "No queue read.");
    fill("#cursors tbody", (status.cursors || []).map((c) => el("tr", {}, el("td", {}, c.scope), el("td", {}, c.name),
      el("td", { class: "small" }, c.value), el("td", {}, c.saved))), 4, "None.");
    const other = Object.fromEntries(Object.entries(status).filter(([name]) => !STATUS_FIELDS.has(name)));
    $("#other-fields").hidden = !Object.keys(other).length;
    $("#other").textContent = JSON.stringify(other, null, 1);
  }

  async function load() {
    if (view.loading) {
      view.again = true; // asked while a read is under way: read once more after it
      return;
    }
    view.loading = true;
    $("#refresh").disabled = true;
    try {
      const [status, runs] = await Promise.all([api("status"), api("runs?limit=500")]);
      view.status = status;
      view.runs = (runs && runs.runs) || [];
      renderStatus(status);
      renderLastRuns(view.runs);
      renderChart(view.runs);
      $("#updated").textContent = `Status of ${status.generated}`;
      document.body.dataset.loaded = "true";
    } catch (error) {
      const state = $("#state");
      state.className = "state bad";
      state.textContent = `✖ ${error.message}`;
    } finally {
      view.loading = false;
      $("#refresh").disabled = false;
      if (view.again) {
        view.again = false;
        load();
      }
    }
  }

  // ---- actions -----------------------------------------------------------------------------------------------
  let resyncUser = null;
  let returnTo = null; // the user whose Resync… button gets the focus back when their dialog closes

  async function openResync(user) {
    resyncUser = user;
    const dialog = $("#resync-dialog");
    const name = user.name || user.user_id;
    $("#resync-title").textContent = `Resync ${name} (OpenAir user ${user.user_id})`;
    const confirm = $("#resync-confirm");
    confirm.disabled = true;
    confirm.textContent = `Resync ${name} now`;
    const result = $("#resync-result");
    result.replaceChildren(el("p", {}, "Dry run: what a resync would do…"));
    dialog.showModal();
    try {
      const answer = await api("resync", { method: "POST", body: { user: user.user_id, dry_run: true } });
      if (resyncUser !== user) return;
      result.replaceChildren(el("div", {}, el("h3", {}, "Dry run — nothing was changed"), writesList(answer.writes),
        countsList(answer.counts),
        (answer.alerts || []).length ? el("p", { class: "error" }, `✖ ${answer.alerts.join("; ")}`) : null));
      confirm.disabled = false;
    } catch (error) {
      result.replaceChildren(el("p", { class: "error" }, `✖ ${error.message}`));
    }
  }

  function writesList(writes) {
    // Per mailbox, what the resync would create, update and delete (when the API reports it).
    if (!Array.isArray(writes)) return null;
    if (!writes.length) return el("p", {}, "No event would be written: the mailbox matches OpenAir.");
    return writes.map((w) => el("div", {},
      el("p", {}, `Would create ${w.create ?? 0}, update ${w.update ?? 0} and delete ${w.delete ?? 0} events` +
        (w.user ? ` for user ${w.user}` : "") + "."),
      w.records ? el("details", {}, el("summary", {}, "Which records"),
        el("ul", { class: "small" }, Object.entries(w.records).flatMap(([action, keys]) =>
          (keys || []).map((k) => el("li", {}, `${action} ${k}`))))) : null));
  }

  async function runResync() {
    const user = resyncUser;
    if (!user) return;
    const confirm = $("#resync-confirm");
    confirm.disabled = true;
    const result = $("#resync-result");
    result.append(el("p", {}, "Resyncing…"));
    try {
      const answer = await api("resync", { method: "POST", body: { user: user.user_id } });
      result.replaceChildren(el("div", {}, el("h3", {}, `Done: run ${answer.run_id || ""}, writes queued for the mailbox`),
        countsList(answer.counts),
        (answer.errors || []).length ? el("p", { class: "error" }, `✖ ${answer.errors.join("; ")}`) : null));
    } catch (error) {
      result.append(el("p", { class: "error" }, `✖ ${error.message}`));
    }
  }

  async function runRenew() {
    const confirm = $("#renew-confirm");
    confirm.disabled = true;
    const result = $("#renew-result");
    result.replaceChildren(el("p", {}, "Renewing…"));
    try {
      const answer = await api("subscriptions/renew", { method: "POST" });
      result.replaceChildren(el("div", {}, el("h3", {}, "Done"), countsList(answer.counts),
        (answer.errors || []).length ? el("p", { class: "error" }, `✖ ${answer.errors.join("; ")}`) : null));
    } catch (error) {
      result.replaceChildren(el("p", { class: "error" }, `✖ ${error.message}`));
    } finally {
      confirm.disabled = false;
    }
  }

  // ---- wiring ------------------------------------------------------------------------------------------------
  let typing = 0;
  $("#filter").addEventListener("input", (event) => {
    clearTimeout(typing);
    typing = setTimeout(() => { view.filter = event.target.value.trim().toLowerCase(); renderUsers(); }, 120);
  });
  $("#show").addEventListener("change", (event) => { view.show = event.target.value; renderUsers(); });
  for (const th of document.querySelectorAll("#user-table th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      view.direction = view.sort === th.dataset.sort ? -view.direction : 1;
      view.sort = th.dataset.sort;
      renderUsers();
    });
  }
  $("#refresh").addEventListener("click", load);
  $("#resync-confirm").addEventListener("click", runResync);
  $("#resync-close").addEventListener("click", () => $("#resync-dialog").close());
  $("#resync-dialog").addEventListener("close", () => {
    returnTo = resyncUser && resyncUser.user_id;
    resyncUser = null;
    load();
  });
  $("#renew").addEventListener("click", () => {
    $("#renew-result").replaceChildren();
    $("#renew-dialog").showModal();
  });
  $("#renew-confirm").addEventListener("click", runRenew);
  $("#renew-close").addEventListener("click", () => $("#renew-dialog").close());
  $("#renew-dialog").addEventListener("close", load);
  setInterval(() => {
    const busy = document.querySelector("dialog[open]");
    if ($("#auto").checked && !busy && document.visibilityState === "visible") load();
  }, 60000);
  // Where App Service authentication is on, it answers who is signed in; elsewhere this is a 404 and shows nothing.
  fetch("/.auth/me", { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).then((me) => {
    const principal = Array.isArray(me) && me[0] ? me[0].user_id : "";
    if (principal) $("#who").textContent = `Signed in as ${principal}`;
  }).catch(() => {});
  load();
})();
