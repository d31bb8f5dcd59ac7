// The passages panel: a [n] followed anywhere on the page (static/page.js sends
// 'luohu-cite') scrolls its card into view and flashes it; when the panel shows another
// answer, or its tab is hidden, Python is asked to show the right one and the card is
// found after. Runs as the panel's js_on_load: `element`, `trigger` are gradio's.
const findCard = (turn, n) => {
  const card = element.querySelector(`#cite-${turn}-${n}`);
  return card && card.offsetParent !== null ? card : null;
};
// Only the panel's own box scrolls to the card (scrollIntoView would also scroll the phone's
// drawer, taking its "back" bar out of sight); on a desk, the page then shows the panel.
const flash = (card) => {
  const box = element.closest('#passages-panel') || element;
  const offset = card.getBoundingClientRect().top - box.getBoundingClientRect().top;
  box.scrollTo({top: box.scrollTop + offset - 8, behavior: 'smooth'});
  if (!matchMedia('(max-width: 760px)').matches) box.scrollIntoView({block: 'nearest'});
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
  window.dispatchEvent(new CustomEvent('luohu-open-doc'));
  trigger('open', {turn: Number(a.dataset.turn), n: Number(a.dataset.n)});
});
