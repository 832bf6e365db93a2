// Code blocks of a post: a Copy button on each (a real <button>: keyboard and screen readers
// reach it; what happens is announced in a polite live region), and a "Scroll →" sign on a
// block whose lines run past its edge. A file, not inline script: the site's CSP allows
// scripts from 'self' only. Without JavaScript the blocks stay plain, scrollable <pre>s.
(function () {
  "use strict";

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var done = false;
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      document.body.removeChild(area);
      if (done) resolve(); else reject(new Error("copy refused"));
    });
  }

  function enhance(pre, status) {
    var block = document.createElement("div");
    block.className = "code-block";
    pre.parentNode.insertBefore(block, pre);
    block.appendChild(pre);

    var tools = document.createElement("div");
    tools.className = "code-tools";
    var hint = document.createElement("span");
    hint.className = "code-scroll-hint";
    hint.textContent = "Scroll →";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "code-copy";
    button.textContent = "Copy";
    var lang = pre.getAttribute("data-lang");
    button.setAttribute("aria-label", lang ? "Copy " + lang + " code" : "Copy code");
    tools.appendChild(hint);
    tools.appendChild(button);
    block.appendChild(tools);

    var reset = 0;
    button.addEventListener("click", function () {
      var code = pre.querySelector("code") || pre;
      copy(code.textContent.replace(/\n$/, "")).then(function () {
        button.textContent = "Copied";
        status.textContent = "Code copied to the clipboard.";
      }, function () {
        button.textContent = "Copy failed";
        status.textContent = "Could not copy: select the code and copy it yourself.";
      });
      window.clearTimeout(reset);
      reset = window.setTimeout(function () { button.textContent = "Copy"; status.textContent = ""; }, 2500);
    });

    function measure() {
      var scrolls = pre.scrollWidth > pre.clientWidth + 1;
      block.classList.toggle("scrolls", scrolls);
      block.classList.toggle("at-end", scrolls && pre.scrollLeft + pre.clientWidth >= pre.scrollWidth - 1);
    }
    pre.addEventListener("scroll", measure, { passive: true });
    if (window.ResizeObserver) new ResizeObserver(measure).observe(pre);
    else window.addEventListener("resize", measure);
    measure();
  }

  function start() {
    var blocks = document.querySelectorAll(".prose pre");
    if (!blocks.length) return;
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    document.body.appendChild(status);
    Array.prototype.forEach.call(blocks, function (pre) { enhance(pre, status); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
