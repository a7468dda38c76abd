// Shows the "print" button on the receipt page (the page works without it: the browser's own
// print command does the same).
(function () {
  "use strict";
  var button = document.getElementById("print-button");
  if (!button) { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
