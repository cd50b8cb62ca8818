// The live board: draws the figures from the JSON embedded in the page, then fetches them again every
// 3 s and redraws, without reloading the page. Text goes in through textContent only (never as HTML).
// The forms below the tables are never redrawn, so a choice being made there stays.
(function () {
  "use strict";
  var EVERY_MS = 3000;
  var board = document.getElementById("board");
  if (!board) return;
  var labels = JSON.parse(document.getElementById("board-labels").textContent);
  var status = document.getElementById("board-status");
  var slTarget = parseFloat(board.getAttribute("data-sl-target"));
  var canMove = !!document.getElementById("moves");

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function pct(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + " %";
  }

  function secs(value) {
    return value === null || value === undefined ? "—" : value.toFixed(1) + " s";
  }

  function numberCell(row, value, text) {
    var cell = el("td", text === undefined ? value : text, "n" + (value === 0 ? " zero" : ""));
    row.appendChild(cell);
    return cell;
  }

  function tile(container, id, figure, what, mood) {
    var box = el("div", null, "tile" + (mood ? " " + mood : ""));
    var big = el("span", figure, "figure");
    big.id = id;
    box.appendChild(big);
    box.appendChild(el("span", what, "what"));
    container.appendChild(box);
  }

  function drawToday(data) {
    var today = data.total.today, container = document.getElementById("board-today");
    var level = today.service_level;
    var mood = level === null ? "" : level >= slTarget ? "good" : "bad";
    container.replaceChildren();
    tile(container, "today-sl", pct(level), "服务水平 / Service level (" + data.sl_seconds + " s)", mood);
    tile(container, "today-abandoned", pct(today.abandonment), "放弃率 / Abandoned");
    tile(container, "today-asa", secs(today.average_answer_seconds), "平均应答 / Average answer time");
    tile(container, "today-offered", today.offered, "进入队列 / Offered (decided)");
    tile(container, "today-answered", today.answered, "坐席接听 / Answered");
    tile(container, "today-open", today.in_progress, "进行中 / Still open");
    tile(container, "now-waiting", data.total.waiting, "正在等待 / Waiting now", data.total.waiting ? "bad" : "");
    tile(container, "now-longest", duration(data.total.longest_wait), "最长等待 / Longest wait now");
  }

  function queueRow(row, total) {
    var tr = el("tr", null, total ? "total" : "");
    tr.setAttribute("data-queue", row.name);
    tr.appendChild(el(total ? "th" : "td", labels.queues[row.name] || row.name));
    numberCell(tr, row.waiting).setAttribute("data-field", "waiting");
    numberCell(tr, row.longest_wait, duration(row.longest_wait)).setAttribute("data-field", "longest");
    numberCell(tr, row.callbacks);
    numberCell(tr, row.today.offered).classList.add("first");  // "first": the first column of a group
    numberCell(tr, row.today.service_level, pct(row.today.service_level));
    numberCell(tr, row.today.abandonment, pct(row.today.abandonment));
    numberCell(tr, row.today.average_answer_seconds, secs(row.today.average_answer_seconds));
    Object.keys(labels.states).forEach(function (state, index) {
      var cell = numberCell(tr, row.agents[state]);
      cell.setAttribute("data-state", state);
      if (index === 0) cell.classList.add("first");
    });
    return tr;
  }

  function drawQueues(data) {
    var table = document.getElementById("board-queues");
    var body = table.querySelector("tbody"), foot = table.querySelector("tfoot");
    body.replaceChildren.apply(body, data.queues.map(function (row) { return queueRow(row, false); }));
    foot.replaceChildren(queueRow(data.total, true));
  }

  function selectAgent(id) {
    document.querySelectorAll("select[data-agent-select]").forEach(function (select) {
      select.value = String(id);
    });
    var form = document.getElementById("state-form");
    if (form) form.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  function drawAgents(data) {
    var body = document.querySelector("#board-agents tbody");
    body.replaceChildren.apply(body, data.agents.map(function (agent) {
      var tr = el("tr");
      tr.setAttribute("data-agent", agent.id);
      tr.appendChild(el("td", agent.name));
      var state = el("td");
      var badge = el("span", labels.states[agent.state] || agent.state, "state state-" + agent.state);
      badge.setAttribute("data-state", agent.state);
      state.appendChild(badge);
      tr.appendChild(state);
      tr.appendChild(el("td", agent.reason || ""));
      tr.appendChild(el("td", duration(agent.seconds), "n"));
      var groups = el("td");
      agent.groups.forEach(function (group) { groups.appendChild(el("span", group, "group")); });
      tr.appendChild(groups);
      if (canMove) {
        var cell = el("td"), button = el("button", "选择 / Select", "small");
        button.type = "button";
        button.addEventListener("click", function () { selectAgent(agent.id); });
        cell.appendChild(button);
        tr.appendChild(cell);
      }
      return tr;
    }));
  }

  function drawEmergencies(data) {
    var section = document.getElementById("board-emergencies");
    var list = section.querySelector("ul");
    list.replaceChildren.apply(list, data.emergencies.map(function (call) {
      var item = el("li", null, call.where.kind);
      item.setAttribute("data-call", call.call_sid);
      item.textContent = call.started_local + " · " + (call.caller || "?") + " · " + call.where.text;
      return item;
    }));
    section.querySelector(".none").hidden = data.emergencies.length > 0;
  }

  var ESCALATION_WORDS = {
    "": "—", warned: "已提醒负责人 / owner warned", escalated: "已升级值班长 / shift lead",
    supervisor: "已升级主管 / supervisor"
  };

  function span(minutes) {
    // "3 d 4 h" or "2 h 05 min": an order months late must not read as 389836 min
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    if (days > 0) return days + " d " + hours + " h";
    if (hours > 0) return hours + " h " + (mins < 10 ? "0" : "") + mins + " min";
    return mins + " min";
  }

  function drawLateOrders(data) {
    var section = document.getElementById("board-late-orders");
    var late = data.late_work_orders;
    if (!section || !late) return;
    Object.keys(late.counts).forEach(function (name) {
      var node = section.querySelector('[data-count="' + name + '"]');
      if (node) node.textContent = String(late.counts[name]);
    });
    var body = section.querySelector("tbody");
    body.replaceChildren.apply(body, late.orders.map(function (order) {
      var tr = el("tr", null, order.overdue ? "overdue" : "near");
      tr.setAttribute("data-order", order.number);
      [order.number, labels.work_classes[order.work_class] || order.work_class, order.desk || "—",
       labels.stages[order.stage] || order.stage, order.due_local,
       (order.overdue ? "超时 / late " : "剩余 / left ") + span(order.minutes),
       ESCALATION_WORDS[order.escalation] || order.escalation].forEach(function (text) {
        tr.appendChild(el("td", text));
      });
      return tr;
    }));
    section.querySelector(".none").hidden = late.orders.length > 0;
  }

  function drawOpenOrders(data) {
    var section = document.getElementById("board-open-orders"), open = data.open_work_orders;
    if (!section || !open) return;
    section.querySelector('[data-count="open"]').textContent = String(open.open);
    section.querySelector('[data-count="overdue"]').textContent = String(open.overdue);
    open.ages.forEach(function (band) {
      var cell = section.querySelector('[data-age="' + band.label + '"]');
      if (cell) cell.textContent = band.open + " (" + band.overdue + ")";
    });
  }

  function draw(data) {
    document.getElementById("board-clock").textContent = data.local_time;
    drawToday(data);
    drawEmergencies(data);
    drawLateOrders(data);
    drawOpenOrders(data);
    drawQueues(data);
    drawAgents(data);
  }

  draw(JSON.parse(document.getElementById("board-data").textContent));
  window.livePoll(board, status, EVERY_MS, draw);
})();
