// Shows the "print" buttons (the receipt page, an invitation sheet); the pages work without it:
// the browser's own print command does the same.
(function () {
  "use strict";
  var buttons = [document.getElementById("print-button")];
  var marked = document.querySelectorAll("[data-print]");
  for (var i = 0; i < marked.length; i++) { buttons.push(marked[i]); }
  for (var j = 0; j < buttons.length; j++) {
    var button = buttons[j];
    if (!button) { continue; }
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }
})();
