// Backup codes: copy them all, or download them as a text file (issue 10). Without JavaScript the
// codes are still on the page to copy by hand; the buttons appear only where they work.
(function () {
  "use strict";
  var list = document.querySelector("ul.codes");
  var tools = document.getElementById("code-tools");
  if (!list || !tools) { return; }
  var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (c) { return c.textContent.trim(); });
  var text = "Auror backup codes for " + (tools.dataset.account || "your account") + "\n" +
    "Each signs you in once.\n\n" + codes.join("\n") + "\n";
  var status = document.getElementById("code-status");

  function say(message) { if (status) { status.textContent = message; } }

  var copy = document.getElementById("copy-codes");
  if (navigator.clipboard && window.isSecureContext !== false) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(text).then(function () { say("Copied " + codes.length + " codes."); },
        function () { say("Copying was refused by the browser: select the codes and copy them."); });
    });
  }
  var download = document.getElementById("download-codes");
  download.hidden = false;
  download.addEventListener("click", function () {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    link.download = "auror-backup-codes.txt";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    say("Downloaded auror-backup-codes.txt.");
  });
}());
