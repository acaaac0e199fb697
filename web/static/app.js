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
