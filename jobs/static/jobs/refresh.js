// 我的导出: while a job is queued or running, reload the page every few seconds to show its progress.
// The page carries data-jobs-refresh only then; without script the 刷新 button does the same.
(function () {
  "use strict";
  var table = document.querySelector("[data-jobs-refresh]");
  if (!table) { return; }
  var seconds = parseInt(table.getAttribute("data-jobs-refresh"), 10) || 5;
  window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
}());
