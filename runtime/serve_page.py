"""The page `digitgen serve` answers at `/`: a form for a person, built on the same endpoints any
client uses, showing the URL and the CLI command that give the same digits. One self-contained
HTML document (no external assets, no build step)."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>digitgen</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  form { display: grid; grid-template-columns: max-content 1fr; gap: .5rem 1rem; align-items: center; }
  input, select, button { font: inherit; padding: .2rem .4rem; }
  button { grid-column: 2; justify-self: start; }
  #result img { image-rendering: pixelated; margin-top: 1rem; max-width: 100%; }
  code { background: #f3f3f3; padding: .1rem .3rem; word-break: break-all; }
  #error { color: #b00020; }
</style>
</head>
<body>
<h1>digitgen</h1>
<p>Handwritten digits from a GAN trained on MNIST. Pick a digit, or write a number; the same seed gives the same digits.</p>
<form id="form">
  <label for="what">What</label>
  <select id="what" name="what">
    <option value="digits">digits</option>
    <option value="number" __NUMBER_DISABLED__>a number</option>
  </select>
  <label for="digit">Digit</label>
  <select id="digit" name="digit" __DIGIT_DISABLED__>
    <option value="">any (a mix)</option>
    __DIGIT_OPTIONS__
  </select>
  <label for="number">Number</label>
  <input id="number" name="number" inputmode="numeric" pattern="[0-9]{1,64}" value="2026" title="the digits 0-9, at most 64">
  <label for="n">How many</label>
  <input id="n" name="n" type="number" min="1" max="__MAX_N__" value="16">
  <label for="seed">Seed</label>
  <input id="seed" name="seed" type="number" min="0" placeholder="random">
  <label for="scale">Size</label>
  <input id="scale" name="scale" type="number" min="1" max="__MAX_SCALE__" value="3">
  <button id="draw" type="submit">Draw</button>
</form>
<div id="result" aria-live="polite">
  <p id="error"></p>
  <img id="image" alt="">
  <p>URL: <code id="url"></code></p>
  <p>Command: <code id="command"></code></p>
</div>
<script>
const form = document.getElementById("form");
function fields() {
  const value = id => document.getElementById(id).value.trim();
  return {what: value("what"), digit: value("digit"), number: value("number"), n: value("n"),
          seed: value("seed"), scale: value("scale")};
}
function request(f, seed) {
  const query = new URLSearchParams();
  if (seed !== "") query.set("seed", seed);
  if (f.what === "number") {
    if (f.scale) query.set("scale", f.scale);
    return {url: "/number/" + encodeURIComponent(f.number) + "?" + query,
            command: "digitgen --number " + f.number + (seed !== "" ? " --seed " + seed : "")
                     + (f.scale ? " --scale " + f.scale : "") + " --out number.png"};
  }
  query.set("n", f.n);
  if (f.digit !== "") query.set("digit", f.digit);
  if (f.scale) query.set("scale", f.scale);
  return {url: "/digits?" + query,
          command: "digitgen --n " + f.n + (f.digit !== "" ? " --digit " + f.digit : "")
                   + (seed !== "" ? " --seed " + seed : "") + (f.scale ? " --scale " + f.scale : "")
                   + " --out digits.png"};
}
form.addEventListener("submit", async event => {
  event.preventDefault();
  const f = fields(), error = document.getElementById("error"), image = document.getElementById("image");
  error.textContent = "";
  const response = await fetch(request(f, f.seed).url);
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error; } catch (e) {}
    error.textContent = message;
    image.removeAttribute("src");
    return;
  }
  // the seed the server drew, when none was given: the URL and command repeat these digits
  const shown = request(f, response.headers.get("X-Digitgen-Seed") || f.seed);
  const old = image.src;
  image.src = URL.createObjectURL(await response.blob());
  image.alt = f.what === "number" ? "the number " + f.number : f.n + " digits";
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  document.getElementById("url").textContent = location.origin + shown.url;
  document.getElementById("command").textContent = shown.command;
});
</script>
</body>
</html>
"""


def home_page(conditional, max_n=10_000, max_scale=32):
    """The page; an unconditional model gets no digit or number choice."""
    options = "\n    ".join(f'<option value="{d}">{d}</option>' for d in range(10))
    disabled = "" if conditional else "disabled"
    return (PAGE.replace("__DIGIT_OPTIONS__", options).replace("__DIGIT_DISABLED__", disabled)
            .replace("__NUMBER_DISABLED__", disabled)
            .replace("__MAX_N__", str(max_n)).replace("__MAX_SCALE__", str(max_scale)))
