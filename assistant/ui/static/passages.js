// Clicks on [n] anywhere on the page (the chat's Markdown is not ours to script) are caught
// here: the passage card is scrolled to and flashed; when the panel shows another answer,
// or its tab is hidden, Python is asked to show the right one and the card is found after.
// Runs as the passages panel's js_on_load: `element`, `trigger` are gradio's.
const findCard = (turn, n) => {
  const card = element.querySelector(`#cite-${turn}-${n}`);
  return card && card.offsetParent !== null ? card : null;
};
const flash = (card) => {
  card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  card.classList.remove('flash'); void card.offsetWidth; card.classList.add('flash');
};
const focusLater = (turn, n) => {
  let tries = 0;
  const timer = setInterval(() => {
    const card = findCard(turn, n);
    if (card) { clearInterval(timer); flash(card); }
    else if (++tries > 50) clearInterval(timer);
  }, 100);
};
if (!window.__luohuCites) {
  window.__luohuCites = true;
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest ? ev.target.closest('a.cite') : null;
    if (!a) return;
    ev.preventDefault(); ev.stopPropagation();
    // The chat's sanitizer drops data-* attributes: the target is read from the href.
    const m = (a.getAttribute('href') || '').match(/#cite-(\d+)-(\d+)/);
    if (!m) return;
    window.dispatchEvent(new CustomEvent('luohu-cite',
      {detail: {turn: Number(m[1]), n: Number(m[2])}}));
  }, true);
}
window.addEventListener('luohu-cite', (ev) => {
  const {turn, n} = ev.detail;
  const card = findCard(turn, n);
  if (card) { flash(card); return; }
  trigger('cite', {turn: turn, n: n});
  focusLater(turn, n);
});
element.addEventListener('click', (ev) => {
  const a = ev.target.closest('a.open-doc');
  if (!a) return;
  ev.preventDefault();
  trigger('open', {turn: Number(a.dataset.turn), n: Number(a.dataset.n)});
});
