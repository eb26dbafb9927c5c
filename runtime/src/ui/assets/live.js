// Keeps the page current without a reload: the server sends the page's content again each time
// it changes (server-sent events), and an `end` event once the run has ended.
"use strict";
(function () {
  const content = document.getElementById("content");
  const url = content && content.dataset.events;
  if (!url || !window.EventSource) {
    return;
  }
  const events = new EventSource(url);
  events.addEventListener("update", function (event) {
    content.innerHTML = event.data;
  });
  events.addEventListener("end", function () {
    events.close();
  });
})();
