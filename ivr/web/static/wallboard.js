// The wallboard: draws the figures from the JSON embedded in the page, then fetches /wallboard/data every
// 3 s and redraws, without reloading the page. Text goes in through textContent only (never as HTML).
// Every level is said in words and a symbol as well as in colour.
(function () {
  "use strict";
  var EVERY_MS = 3000;
  var EMERGENCIES_SHOWN = 3;  // newest first; the rest are counted
  var NAMES_SHOWN = 8;  // agents named per state; the rest are counted
  var wall = document.getElementById("wallboard");
  if (!wall) return;
  var labels = JSON.parse(document.getElementById("wallboard-labels").textContent);
  var status = document.getElementById("wall-status");

  var LEVEL_WORDS = {
    ok: "✓ 正常 / OK",
    amber: "▲ 注意 / Watch",
    red: "■ 超限 / Over limit",
    none: "– 今日暂无 / None yet"
  };
  var WHERE_SYMBOLS = {
    menu: "⚠", waiting: "⚠", ringing: "⚠", with_agent: "☎", duty: "☎", callback: "↺", ended: "✓"
  };

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "0:00";
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function percent(fraction) {
    return fraction === null || fraction === undefined ? "—" : Math.round(fraction * 100) + "%";
  }

  function masked(number) {
    // The wall is seen by everyone on the floor: the caller's last four digits are enough to tell calls apart.
    if (!number) return "?";
    return number.length > 4 ? "…" + number.slice(-4) : number;
  }

  function figureBox(kind, what, text, level, limitText) {
    var box = el("div", null, "figure-box level-" + level);
    box.setAttribute("data-figure", kind);
    box.setAttribute("data-level", level);
    box.appendChild(el("span", what, "what"));
    var big = el("span", text, "figure" + (text.length > 5 ? " long" : ""));
    box.appendChild(big);
    var word = el("span", LEVEL_WORDS[level] || level, "level");
    box.appendChild(word);
    box.title = limitText;
    return box;
  }

  function drawQueues(data) {
    var section = document.getElementById("wall-queues");
    section.style.setProperty("--queues", String(Math.max(1, data.queues.length)));
    section.replaceChildren.apply(section, data.queues.map(function (queue) {
      var card = el("article", null, "queue");
      card.setAttribute("data-queue", queue.name);
      card.appendChild(el("h2", labels.queues[queue.name] || queue.name));
      var limits = queue.limits;
      var waiting = figureBox("waiting", "等待 / Waiting", String(queue.waiting.value),
        queue.waiting.level, "≥ " + limits.waiting_amber + " / ≥ " + limits.waiting_red);
      if (queue.emergencies_waiting) {  // gas-leak callers among them
        waiting.querySelector(".what").appendChild(el("span", " ⚠" + queue.emergencies_waiting + " 燃气/gas", "urgent"));
      }
      card.appendChild(waiting);
      card.appendChild(figureBox("longest_wait", "最长等待 / Longest wait", duration(queue.longest_wait.value),
        queue.longest_wait.level, "≥ " + limits.longest_wait_amber + " s / ≥ " + limits.longest_wait_red + " s"));
      card.appendChild(figureBox("service_level", "服务水平 / Service level",
        percent(queue.service_level.value), queue.service_level.level,
        "< " + limits.service_level_amber + "% / < " + limits.service_level_red + "%"));
      return card;
    }));
  }

  function drawEmergencies(data) {
    var section = document.getElementById("wall-emergencies");
    var calls = data.emergencies;
    var list = section.querySelector("ul");
    var items = calls.slice(0, EMERGENCIES_SHOWN).map(function (call) {
      var item = el("li", null, "where-" + call.where.kind);
      item.setAttribute("data-call", call.call_sid);
      // Waiting: the wait as a clock, up front (the board's sentence would be cut off on the wall).
      var where = call.where.kind === "waiting" ? "等待中 / waiting " + duration(call.where.seconds) : call.where.text;
      item.textContent = (WHERE_SYMBOLS[call.where.kind] || "⚠") + " " + call.started_local + " · " +
        masked(call.caller) + " · " + where;
      return item;
    });
    if (calls.length > EMERGENCIES_SHOWN) {
      items.push(el("li", "+ " + (calls.length - EMERGENCIES_SHOWN) + " 更多 / more", "more"));
    }
    list.replaceChildren.apply(list, items);
    document.getElementById("wall-emergency-count").textContent = String(calls.length);
    var live = calls.some(function (call) { return call.where.kind !== "ended"; });
    section.className = "emergencies" + (calls.length ? " has-calls" : "") + (live ? " live" : "");
  }

  function drawAgents(data) {
    var section = document.getElementById("wall-agents");
    section.replaceChildren.apply(section, data.agents.map(function (group) {
      var box = el("div", null, "agent-state state-" + group.state + (group.count ? "" : " empty"));
      box.setAttribute("data-state", group.state);
      var count = el("span", group.count, "count");
      box.appendChild(count);
      var what = el("span", null, "what");  // Chinese over English
      (labels.states[group.state] || group.state).split(" / ").forEach(function (part) {
        what.appendChild(el("span", part));
      });
      box.appendChild(what);
      var names = "";
      if (group.state !== "offline") {  // who is offline does not help the floor; the count does
        names = group.names.slice(0, NAMES_SHOWN).join(" · ");
        if (group.names.length > NAMES_SHOWN) names += " +" + (group.names.length - NAMES_SHOWN);
      }
      box.appendChild(el("span", names, "names"));
      return box;
    }));
  }

  function draw(data) {
    document.getElementById("wall-clock").textContent = data.local_time.slice(11, 19);
    drawEmergencies(data);
    drawQueues(data);
    drawAgents(data);
  }

  draw(JSON.parse(document.getElementById("wallboard-data").textContent));
  window.livePoll(wall, status, EVERY_MS, draw);
})();
