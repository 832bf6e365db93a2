// Live preview while writing (only on pages of `flask --app blogapp run --debug`): listen on
// the stream named by data-stream and reload the page when the posts change.
(function () {
  var script = document.currentScript;
  var url = script && script.getAttribute("data-stream");
  if (!url || !window.EventSource) return;
  var source = null;
  var timer = null;
  var delay = 1000;

  function stop() {
    if (source) source.close();
    source = null;
    clearTimeout(timer);
  }

  function reload(version) {
    // A page cached just as a file was saved can name a newer version than the one it is
    // stored under: reload once for a version, never in a loop; then wait for the next.
    var key = "live-preview:" + location.pathname + location.search;
    var mark = url + " " + version;
    var seen = null;
    try { seen = sessionStorage.getItem(key); sessionStorage.setItem(key, mark); } catch (e) {}
    if (seen !== mark) {
      location.reload();
      return;
    }
    url = url.replace(/([?&]v=)[^&]*/, "$1" + encodeURIComponent(version));
    start();
  }

  function start() {
    if (source || document.hidden) return;
    source = new EventSource(url);
    source.onopen = function () { delay = 1000; };
    source.addEventListener("change", function (event) {
      stop();
      reload(event.data);
    });
    source.onerror = function () {
      // A network error reconnects on its own; an answer other than a stream (503 when too
      // many previews are open, 404 once the server runs without --debug) closes it: retry.
      if (source && source.readyState === EventSource.CLOSED) {
        stop();
        timer = setTimeout(start, delay);
        delay = Math.min(delay * 2, 30000);
      }
    };
  }

  // Hidden tabs give their connection back (browsers allow about six per site); a page
  // left, or restored from the back-forward cache, closes or reopens its stream.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) stop();
    else start();
  });
  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) start();
  });
  start();
})();
