// The signature pad: a canvas sized for the device's pixel ratio, resized (and its strokes
// redrawn) on rotation, exported as PNG into the form; an empty pad stops the submission.
(function () {
  "use strict";
  var canvas = document.querySelector("canvas[data-pad]");
  if (!canvas || !window.SignaturePad) { return; }
  var form = canvas.closest("form");
  var output = form.querySelector("[data-pad-output]");
  var error = form.querySelector("[data-pad-error]");
  var photo = form.querySelector('input[name="photo"]');
  var pad = new window.SignaturePad(canvas, { minWidth: 1.2, maxWidth: 3.2, penColor: "#111" });
  pad.addEventListener("beginStroke", function () { error.hidden = true; });

  function resize() {
    var strokes = pad.toData();
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    pad.fromData(strokes);
  }
  window.addEventListener("resize", resize);
  window.addEventListener("orientationchange", resize);
  resize();

  form.querySelector("[data-pad-clear]").addEventListener("click", function () {
    pad.clear();
    output.value = "";
  });
  form.addEventListener("submit", function (event) {
    var hasPhoto = photo && photo.files && photo.files.length > 0;
    if (pad.isEmpty() && !hasPhoto) {
      event.preventDefault();
      error.hidden = false;
      error.setAttribute("tabindex", "-1");
      error.focus();
      return;
    }
    output.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
  });
})();
