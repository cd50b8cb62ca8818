// The menu as a flow diagram: fetches the diagram's data (ivr/configuration/menu_diagram.py) for the draft,
// the live version or one version, lays it out as a tree from left to right and draws it as SVG.
// Each node is drawn once; a way on to a node placed elsewhere (back, repeat, jump) is a small labelled
// reference. The gas-leak path is red AND labelled "⚠". No framework, no inline script (CSP).
(function () {
  "use strict";
  var card = document.getElementById("menu-diagram");
  if (!card) return;

  var SVG = "http://www.w3.org/2000/svg";
  var NODE_W = 156, NODE_H = 54, REF_W = 104, REF_H = 22, GAP_Y = 6, COL_GAP = 74, START_GAP = 22, PAD = 10;
  var box = card.querySelector(".diagram-box");
  var caption = card.querySelector(".diagram-caption");
  var shown = card.getAttribute("data-of") || "draft";
  var zoom = "fit";
  var here = null;  // the node the test call is at, highlighted

  // ------------------------------------------------------------------ text that fits

  function width(text) {  // in ems: CJK characters are one em wide, others about half
    var units = 0;
    for (var i = 0; i < text.length; i++) units += text.charCodeAt(i) > 0x2e80 ? 1 : 0.56;
    return units;
  }

  function fit(text, pixels, size) {
    text = String(text || "");
    if (width(text) * size <= pixels) return text;
    while (text.length && (width(text) + 1) * size > pixels) text = text.slice(0, -1);
    return text + "…";
  }

  function el(name, attributes, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, className) {
    var t = el("text", { x: x, y: y, "class": className || "" }, parent);
    t.textContent = content;
    return t;
  }

  function tooltip(parent, content) {
    el("title", {}, parent).textContent = content;
  }

  // ------------------------------------------------------------------ layout

  // Items under a node, in the order the caller hears them: a child node (the edge that first reached it)
  // or a reference to a node placed elsewhere.
  function layout(diagram) {
    var byId = {}, children = {}, reached = {};
    diagram.nodes.forEach(function (node) { byId[node.id] = node; children[node.id] = []; });
    diagram.edges.forEach(function (edge) {
      if (!children[edge.source]) return;
      if (edge.tree) reached[edge.target] = true;
      children[edge.source].push({ edge: edge, node: edge.tree ? edge.target : null });
    });

    var heights = {};
    function height(id) {
      var items = children[id], total = 0;
      items.forEach(function (item, i) {
        total += (item.node ? height(item.node) : REF_H) + (i ? GAP_Y : 0);
      });
      heights[id] = Math.max(NODE_H, total);
      return heights[id];
    }

    var placed = { nodes: [], refs: [], lines: [] }, right = 0;
    function place(id, depth, top) {
      var x = PAD + depth * (NODE_W + COL_GAP), span = heights[id];
      var items = children[id], total = 0;
      items.forEach(function (item, i) { total += (item.node ? heights[item.node] : REF_H) + (i ? GAP_Y : 0); });
      var y = top + (span - NODE_H) / 2;
      placed.nodes.push({ node: byId[id], x: x, y: y });
      right = Math.max(right, x + NODE_W);
      var cursor = top + (span - total) / 2, childX = x + NODE_W + COL_GAP;
      items.forEach(function (item) {
        var from = { x: x + NODE_W, y: y + NODE_H / 2 };
        if (item.node) {
          var childTop = cursor + (heights[item.node] - NODE_H) / 2;
          placed.lines.push({ edge: item.edge, from: from, to: { x: childX, y: childTop + NODE_H / 2 } });
          place(item.node, depth + 1, cursor);
          cursor += heights[item.node] + GAP_Y;
        } else {
          placed.refs.push({ edge: item.edge, x: childX, y: cursor });
          placed.lines.push({ edge: item.edge, from: from, to: { x: childX, y: cursor + REF_H / 2 }, ref: true });
          right = Math.max(right, childX + REF_W);
          cursor += REF_H + GAP_Y;
        }
      });
    }

    var top = PAD;
    diagram.nodes.forEach(function (node) {
      if (reached[node.id]) return;  // drawn under the node that first reaches it
      var span = height(node.id);
      place(node.id, 0, top);
      top += span + START_GAP;
    });
    placed.width = right + PAD;
    placed.height = top - START_GAP + PAD;
    return placed;
  }

  // ------------------------------------------------------------------ drawing

  var ROLE = { root: "根 / root", fallback: "兜底 / fallback", emergency: "燃气泄漏 / gas leak" };
  var ARROW = { back: "↩ ", self: "↻ ", jump: "→ ", missing: "✕ " };
  var RELATION = { back: "返回 / back to", self: "重复本层 / repeats", jump: "转到 / goes to", missing: "不存在 / missing" };

  function edgeLabel(edge) {
    return edge.key || edge.label.split(" / ")[0];
  }

  function describeEdge(edge) {
    var words = (edge.key ? "按 " + edge.key + " / key " + edge.key : edge.label);
    if (edge.phrases) words += " · 说 / say: " + edge.phrases;
    if (edge.language) words += " · 切换到 / switches to " + edge.language;
    words += " → " + edge.target;
    if (edge.gas_leak) words += " · ⚠ 燃气泄漏路径 / gas-leak path";
    return words;
  }

  function drawLine(svg, line) {
    var edge = line.edge;
    var g = el("g", {
      "class": "edge" + (edge.gas_leak ? " gas-leak" : "") + (line.ref ? " to-ref" : "") + (edge.relation === "missing" ? " missing" : ""),
      "data-from": edge.source, "data-to": edge.target, "data-key": edge.key, "data-kind": edge.kind
    }, svg);
    var midX = (line.from.x + line.to.x) / 2;
    el("path", {
      d: "M" + line.from.x + "," + line.from.y + " C" + midX + "," + line.from.y + " " + midX + "," + line.to.y +
        " " + (line.to.x - 2) + "," + line.to.y,
      "marker-end": edge.gas_leak ? "url(#arrow-gas)" : "url(#arrow)"
    }, g);
    // The key sits on the line just before what it leads to; the phrases above it, shortened (all in the tooltip).
    var label = edgeLabel(edge), wide = Math.max(17, width(label) * 11.5 + 8), keyX = line.to.x - 8 - wide / 2;
    el("rect", { x: keyX - wide / 2, y: line.to.y - 8, width: wide, height: 16, rx: 8, "class": "key-badge" }, g);
    text(g, keyX, line.to.y + 4, label, "key");
    var said = (edge.gas_leak ? "⚠ " : "") + (edge.phrases ? edge.phrases.split(/[,/]/)[0].trim() : "") +
      (edge.language ? " " + edge.language : "");
    if (said.trim()) text(g, keyX - wide / 2 - 3, line.to.y + 3.5, fit(said, COL_GAP - wide / 2 - 20, 10.5), "phrase");
    tooltip(g, describeEdge(edge));
  }

  function drawRef(svg, ref) {
    var edge = ref.edge;
    var g = el("g", {
      "class": "ref relation-" + edge.relation + (edge.gas_leak ? " gas-leak" : ""),
      "data-from": edge.source, "data-to": edge.target, "data-key": edge.key, transform: "translate(" + ref.x + "," + ref.y + ")"
    }, svg);
    el("rect", { width: REF_W, height: REF_H, rx: 12 }, g);
    var words = (edge.gas_leak ? "⚠ " : "") + (ARROW[edge.relation] || "") + edge.target;
    text(g, 9, 15.5, fit(words, REF_W - 14, 11.5), "ref-text");
    tooltip(g, (RELATION[edge.relation] || "") + " " + edge.target + " — " + describeEdge(edge));
  }

  function drawNode(svg, at) {
    var node = at.node;
    var g = el("g", {
      "class": "diagram-node type-" + node.type + (node.gas_leak ? " gas-leak" : "") + (node.reachable ? "" : " unreachable") +
        (node.id === here ? " here" : ""),
      "data-node": node.id, transform: "translate(" + at.x + "," + at.y + ")", tabindex: "0", role: "button",
      "aria-label": node.id + ": " + node.does
    }, svg);
    el("rect", { width: NODE_W, height: NODE_H, rx: 7, "class": "box" }, g);
    el("rect", { width: 5, height: NODE_H, rx: 2, "class": "stripe" }, g);
    text(g, 12, 17, fit(node.id, NODE_W - 20, 13.5), "node-id");
    if (node.gas_leak) {
      text(g, 12, 33, "⚠ 燃气泄漏 / Gas leak", "gas-label");
    } else {
      text(g, 12, 33, fit(node.does, NODE_W - 18, 12), "does");
    }
    var detail = node.reachable ? node.detail || node.roles.map(function (r) { return ROLE[r]; }).join(" · ")
      : "无法到达 / unreachable";
    if (node.gas_leak) detail = node.detail;
    text(g, 12, 48, fit(detail, NODE_W - 18, 10.5), "detail");
    var words = node.id + " — " + node.does + (node.detail ? " · " + node.detail : "") +
      (node.roles.length ? " · " + node.roles.map(function (r) { return ROLE[r]; }).join(", ") : "");
    tooltip(g, words);
  }

  function draw(answer) {
    var diagram = answer.diagram, placed = layout(diagram);
    var svg = el("svg", {
      viewBox: "0 0 " + placed.width + " " + placed.height, "class": "diagram", role: "group",
      "aria-label": "菜单流程图 / Menu flow diagram: " + answer.title,
      "data-of": answer.of, "data-width": placed.width
    });
    var defs = el("defs", {}, svg);
    [["arrow", "arrow-head"], ["arrow-gas", "arrow-head gas"]].forEach(function (pair) {
      var marker = el("marker", { id: pair[0], viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" }, defs);
      el("path", { d: "M0,0 L8,4 L0,8 z", "class": pair[1] }, marker);
    });
    // Lines first, so the nodes and badges are drawn over them; gas-leak lines last among them, on top.
    placed.lines.filter(function (l) { return !l.edge.gas_leak; }).forEach(function (l) { drawLine(svg, l); });
    placed.lines.filter(function (l) { return l.edge.gas_leak; }).forEach(function (l) { drawLine(svg, l); });
    placed.refs.forEach(function (ref) { drawRef(svg, ref); });
    placed.nodes.forEach(function (at) { drawNode(svg, at); });
    var first = !box.querySelector("svg");
    box.replaceChildren(svg);
    sized();
    if (first) centreOn(diagram.root);  // opened on the main menu, not on whatever sits at the top
    if (caption) {
      var emergency = diagram.emergency;
      caption.textContent = answer.title + " · " + diagram.nodes.length + " 个节点 / nodes · " +
        (emergency.phrases ? "在任何一层说 “" + fit(emergency.phrases, 60, 1) + "” 也会转到 " + emergency.target +
          " / these phrases reach " + emergency.target + " from any menu" : "");
    }
  }

  function centreOn(id) {
    var at = id && box.querySelector("g.diagram-node[data-node='" + id.replace(/[^a-z0-9_]/g, "") + "']");
    if (!at) return;
    var inner = at.getBoundingClientRect(), outer = box.getBoundingClientRect();
    box.scrollTop += inner.top - outer.top - (box.clientHeight - inner.height) / 2;
  }

  function sized() {
    var svg = box.querySelector("svg");
    if (!svg) return;
    var natural = Number(svg.getAttribute("data-width"));
    svg.style.width = zoom === "fit" ? "100%" : natural + "px";
    svg.style.maxWidth = zoom === "fit" ? natural + "px" : "none";
  }

  // ------------------------------------------------------------------ loading and the controls

  function load(of) {
    shown = of;
    card.querySelectorAll("[data-of]").forEach(function (button) {
      if (button.tagName === "BUTTON") button.setAttribute("aria-pressed", String(button.getAttribute("data-of") === of));
    });
    return fetch(card.getAttribute("data-url") + "?of=" + encodeURIComponent(of), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      if (!result.ok) throw new Error(result.answer.error || "?");
      if (shown === of) draw(result.answer);
    }).catch(function (error) {
      var p = document.createElement("p");
      p.className = "problems";
      p.textContent = "流程图无法显示 / The diagram cannot be shown: " + error.message;
      box.replaceChildren(p);
    });
  }

  card.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (button && button.hasAttribute("data-of")) load(button.getAttribute("data-of"));
    if (button && button.hasAttribute("data-zoom")) {
      zoom = button.getAttribute("data-zoom");
      card.querySelectorAll("[data-zoom]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-zoom") === zoom));
      });
      sized();
    }
    var node = event.target.closest("g.diagram-node");
    if (node) select(node.getAttribute("data-node"));
  });
  card.addEventListener("keydown", function (event) {
    var node = event.target.closest && event.target.closest("g.diagram-node");
    if (node && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      select(node.getAttribute("data-node"));
    }
  });

  // A node clicked in the diagram opens its card in the tree below.
  function select(id) {
    var section = document.getElementById("node-" + id);
    if (!section) return;
    if (section.tagName === "DETAILS") section.open = true;
    document.querySelectorAll(".node.selected").forEach(function (s) { s.classList.remove("selected"); });
    section.classList.add("selected");
    section.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  // editor.js: the draft changed (redraw if it is shown); the test call is at a node (highlight it).
  document.addEventListener("menu-draft-changed", function () { if (shown === "draft") load("draft"); });
  document.addEventListener("test-call-at", function (event) {
    here = event.detail;
    box.querySelectorAll("g.diagram-node").forEach(function (g) {
      g.classList.toggle("here", g.getAttribute("data-node") === here);
    });
    var at = here && box.querySelector("g.diagram-node[data-node='" + here.replace(/[^a-z0-9_]/g, "") + "']");
    if (at) {  // scroll the diagram's own box (never the page) so the node is in sight
      var inner = at.getBoundingClientRect(), outer = box.getBoundingClientRect();
      if (inner.top < outer.top || inner.bottom > outer.bottom) box.scrollTop += inner.top - outer.top - 20;
      if (inner.left < outer.left || inner.right > outer.right) box.scrollLeft += inner.left - outer.left - 20;
    }
  });

  load(shown);
})();
