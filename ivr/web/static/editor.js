// The console's editors: each small form (data-op) is sent as one JSON operation; the server applies it to
// the draft and answers the new tree and every validation problem, which replace the page's parts.
// The test call walks the draft through the server, the page keeping the call's state. No framework.
(function () {
  "use strict";
  var editor = document.getElementById("editor");

  // Any form with data-confirm asks first (discard, rollback, remove).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  if (!editor) return;
  var csrf = editor.getAttribute("data-csrf");
  var status = document.getElementById("edit-status");

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.redirected) {  // signed out meanwhile
        window.location.assign(response.url);
        return new Promise(function () {});
      }
      return response.json().catch(function () {
        return { error: "HTTP " + response.status };
      }).then(function (answer) {
        return { ok: response.ok, answer: answer };
      });
    });
  }

  function say(text, bad) {
    if (!status) return;
    status.textContent = text;
    status.className = "status-line" + (bad ? " problems" : " muted");
  }

  // ------------------------------------------------------------------ edits

  function operationOf(form, submitter) {
    var op = { op: (submitter && submitter.getAttribute("data-op")) || form.getAttribute("data-op") };
    if (submitter && submitter.getAttribute("data-direction")) op.direction = submitter.getAttribute("data-direction");
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled || field.type === "submit" || field.type === "button") return;
      var value = field.type === "checkbox" ? field.checked : field.value;
      var parts = field.name.split(".");
      var into = op;
      for (var i = 0; i < parts.length - 1; i++) {
        into[parts[i]] = into[parts[i]] || {};
        into = into[parts[i]];
      }
      into[parts[parts.length - 1]] = value;
    });
    return op;
  }

  function applyAnswer(answer) {
    editor.setAttribute("data-revision", answer.revision);
    var tree = document.getElementById("tree");
    if (tree) {
      // The cards the supervisor had open stay open in the new tree.
      var open = Array.prototype.map.call(tree.querySelectorAll("details[open][id]"), function (d) { return d.id; });
      var openInner = Array.prototype.map.call(tree.querySelectorAll("details[open]:not([id])"), function (d) {
        return d.closest("[id]").id + "/" + d.querySelector("summary").textContent;
      });
      tree.innerHTML = answer.html;  // rendered by the server with Jinja's escaping
      open.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
      tree.querySelectorAll("details:not([id])").forEach(function (d) {
        var holder = d.closest("[id]");
        if (holder && openInner.indexOf(holder.id + "/" + d.querySelector("summary").textContent) >= 0) d.open = true;
      });
    }
    document.dispatchEvent(new CustomEvent("menu-draft-changed"));  // menu_diagram.js redraws the draft
    var problems = document.getElementById("problems");
    if (problems) problems.innerHTML = answer.problems_html;
    var publish = document.getElementById("publish");
    if (publish) publish.disabled = !answer.publishable;
    var raw = document.getElementById("raw-document");
    if (raw) raw.value = answer.document;
    var rawRevision = document.getElementById("raw-revision");
    if (rawRevision) rawRevision.value = answer.revision;
    var unchanged = document.getElementById("draft-unchanged");
    if (unchanged) unchanged.hidden = true;
  }

  // Open or close every node card of the tree at once.
  editor.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-tree]");
    if (!button) return;
    document.querySelectorAll("#tree details.node").forEach(function (d) { d.open = button.getAttribute("data-tree") === "open"; });
  });

  editor.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-op")) return;  // ordinary forms (publish, raw document) post as usual
    event.preventDefault();
    var op = operationOf(form, event.submitter);
    say("保存中… / Saving…");
    post(editor.getAttribute("data-edit-url"), { operation: op, revision: editor.getAttribute("data-revision") })
      .then(function (result) {
        if (!result.ok) {
          say("未保存 / Not saved: " + (result.answer.error || "?"), true);
          return;
        }
        applyAnswer(result.answer);
        var count = result.answer.problems.length;
        say("已保存 / Saved: " + result.answer.did + (count ? " — " + count + " 个问题 / problem(s)" : ""), false);
      })
      .catch(function () { say("网络错误，未保存 / Network error: not saved", true); });
  });

  // ------------------------------------------------------------------ the test call

  var panel = document.getElementById("test-call");
  if (!panel) return;
  var transcript = document.getElementById("transcript");
  var state = null;

  // The transcript reaches down to the bottom of the window, wherever the (sticky) panel is, so its
  // last line is always in view while keys are pressed.
  function fitTranscript() {
    if (window.getComputedStyle(panel.parentNode).position !== "sticky") {
      transcript.style.height = "";
      return;
    }
    var top = transcript.getBoundingClientRect().top;
    transcript.style.height = Math.max(140, window.innerHeight - top - 14) + "px";
  }
  window.addEventListener("resize", fitTranscript);
  window.addEventListener("scroll", fitTranscript, { passive: true });
  fitTranscript();

  function field(name) { return panel.querySelector("[name='" + name + "']"); }

  function line(text, className, language) {
    var p = document.createElement("p");
    p.textContent = text;
    if (className) p.className = className;
    if (language) p.setAttribute("lang", language);
    transcript.appendChild(p);
    transcript.scrollTop = transcript.scrollHeight;
    return p;
  }

  function inCall(active) {
    panel.querySelectorAll("[data-key], [data-call='speak'], [data-call='silence'], [data-call='digits'], [data-call='hangup']")
      .forEach(function (button) { button.disabled = !active; });
  }

  function describeEnd(next) {
    if (next.kind === "queue") {
      var text = "→ 队列 / queue " + next.queue + " · 意图 / intent " + next.intent + " · 优先级 / priority " + next.priority;
      if (next.emergency) text += " · 紧急 / EMERGENCY";
      if (next.complaint_class) text += " · " + next.complaint_class + " complaint, reply within " + next.reply_within_hours + " h";
      if (next.after_hours) text += " · " + next.after_hours;
      return text;
    }
    if (next.kind === "dial") return "→ 拨打 / dial " + next.number;
    return "→ " + next.kind;
  }

  function turn(body, shown) {
    if (shown) line(shown, "you");
    body.caller = field("caller").value;
    post(panel.getAttribute("data-url"), body).then(function (result) {
      var answer = result.answer;
      if (!result.ok) {
        line("不能测试 / Cannot test: " + (answer.error || "?"), "problems");
        (answer.problems || []).forEach(function (p) { line(p.where + ": " + p.message, "problems"); });
        state = null;
        inCall(false);
        return;
      }
      answer.said.forEach(function (said) {
        var p = line(said.text, "said", said.language);
        p.setAttribute("data-key", said.key);
      });
      var next = answer.next;
      document.dispatchEvent(new CustomEvent("test-call-at", { detail: next.node || null }));  // the diagram marks it
      if (next.kind === "ask") {
        state = answer.state;
        line("… " + next.node + "（" + (next.keys === "digits" ? "按号码后按 # / key digits then #" : "按一个键或说话 / one key or speech") + "）", "where");
        inCall(true);
      } else {
        state = null;
        var end = line(describeEnd(next), "end" + (next.emergency ? " emergency" : ""));
        end.setAttribute("data-end", next.kind);
        inCall(false);
      }
    }).catch(function () { line("网络错误 / Network error", "problems"); });
  }

  panel.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || button.disabled) return;
    var key = button.getAttribute("data-key");
    var action = button.getAttribute("data-call");
    if (key !== null && state) {
      turn({ state: state, digits: key }, "▶ " + key);
    } else if (action === "start") {
      transcript.innerHTML = "";
      state = null;
      turn({ state: null, language: field("language").value }, null);
    } else if (action === "speak" && state) {
      turn({ state: state, speech: field("speech").value }, "▶ “" + field("speech").value + "”");
    } else if (action === "silence" && state) {
      turn({ state: state }, "▶ …");
    } else if (action === "digits" && state) {
      turn({ state: state, digits: field("digits").value }, "▶ " + field("digits").value);
    } else if (action === "hangup") {
      state = null;
      document.dispatchEvent(new CustomEvent("test-call-at", { detail: null }));
      inCall(false);
      line("已挂断 / Hung up", "end").setAttribute("data-end", "hangup");
    }
  });
})();
