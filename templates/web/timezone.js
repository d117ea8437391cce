// Sets the sign-up form's time zone to the browser's own. Without scripts the select still
// works (it starts at UTC); the server checks the name either way.
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  document.querySelectorAll("select[data-detect-timezone]").forEach(function (select) {
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
    if (!known) select.add(new Option(zone, zone));
    select.value = zone;
  });
})();
