// New reports while a console page is open: every 30 seconds ask for reports newer than the newest
// one known when the page was drawn, and say how many arrived (a link to the inbox). The badge in
// the menu already says how many are unclaimed; the pages work without this script.
(function () {
  "use strict";
  var banner = document.getElementById("arrivals");
  if (!banner) { return; }
  var latest = parseInt(banner.getAttribute("data-latest"), 10) || 0;
  var template = banner.getAttribute("data-template") || "{count}";
  var link = banner.querySelector("a");
  var seen = 0;

  function poll() {
    fetch("/vanphong/moi?sau=" + latest, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : { rows: [] }; })
      .then(function (data) {
        var rows = data.rows || [];
        for (var i = 0; i < rows.length; i++) { latest = Math.max(latest, rows[i].id); }
        seen += rows.length;
        if (seen > 0 && link) {
          link.textContent = template.replace("{count}", String(seen));
          banner.hidden = false;
        }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  setInterval(poll, 30000);
})();
