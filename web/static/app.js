// One click, one submission: disable the buttons of a form once it is sent.
// (A file, not an inline <script>: the Content-Security-Policy allows scripts from this site only.)
document.addEventListener('submit', function (e) {
  setTimeout(function () {
    e.target.querySelectorAll('button[type=submit]').forEach(function (b) { b.disabled = true; });
  }, 0);
});

// After a refused form, take the reader to what needs fixing: the first marked field, or the alert.
document.addEventListener('DOMContentLoaded', function () {
  var target = document.querySelector('[aria-invalid=true]') || document.querySelector('[role=alert]:not([data-testid=broken-definitions])');
  if (!target) { return; }
  if (!target.matches('input, select, textarea, button')) { target.setAttribute('tabindex', '-1'); }
  target.focus();
  if (target.scrollIntoView) { target.scrollIntoView({block: 'center'}); }
});

// Admin editor: "edit there" beside a problem puts the cursor at that line and column of the text.
// (Without script the link still jumps to the text box.)
document.addEventListener('click', function (e) {
  var link = e.target.closest && e.target.closest('a.to-editor[data-line]');
  var box = document.getElementById('source');
  if (!link || !box) { return; }
  e.preventDefault();
  var lines = box.value.split('\n');
  var line = Math.min(parseInt(link.dataset.line, 10) || 1, lines.length);
  var at = 0;
  for (var i = 0; i < line - 1; i++) { at += lines[i].length + 1; }
  at += Math.max(0, Math.min((parseInt(link.dataset.column, 10) || 1) - 1, lines[line - 1].length));
  box.focus();
  box.setSelectionRange(at, at);
  var height = box.scrollHeight / Math.max(lines.length, 1);
  box.scrollTop = Math.max(0, (line - 5) * height);
});

// A table wider than the screen scrolls inside its own box (.table-scroll). Such a box must be reachable
// by keyboard to be scrolled: give the ones that do scroll a tab stop and a name (the heading of their
// section, or the table's caption), and take it away again when the window grows.
(function () {
  function label(box) {
    var caption = box.querySelector('caption');
    var section = box.closest('section');
    var heading = section && section.querySelector('h1, h2, h3');
    return (caption || heading || {}).textContent || '';
  }
  function mark() {
    document.querySelectorAll('.table-scroll').forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute('tabindex', '0');
        box.setAttribute('role', 'region');
        var name = label(box).trim();
        if (name && !box.hasAttribute('aria-label')) { box.setAttribute('aria-label', name); }
      } else if (box.getAttribute('tabindex') === '0') {
        box.removeAttribute('tabindex');
        box.removeAttribute('role');
        box.removeAttribute('aria-label');
      }
    });
  }
  document.addEventListener('DOMContentLoaded', mark);
  window.addEventListener('resize', mark);
})();
