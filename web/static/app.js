// One click, one submission: disable the buttons of a form once it is sent.
// (A file, not an inline <script>: the Content-Security-Policy allows scripts from this site only.)
document.addEventListener('submit', function (e) {
  setTimeout(function () {
    e.target.querySelectorAll('button[type=submit]').forEach(function (b) { b.disabled = true; });
  }, 0);
});
