// After a document is rendered (and its tab shown), bring the cited passage into view
// below the title bar that stays at the top; "回到引用处" does it again after reading on.
// Runs as the document view's js_on_load: `element`, `watch` are gradio's.
const box = () => element.closest('#document-view') || element;
const toPassage = (smooth) => {
  const el = element.querySelector('#doc-focus');
  if (!el || el.offsetParent === null) return false;
  const head = element.querySelector('.doc-head');
  const offset = el.getBoundingClientRect().top - box().getBoundingClientRect().top;
  const top = box().scrollTop + offset - (head ? head.offsetHeight : 0) - 12;
  box().scrollTo({top: top, behavior: smooth ? 'smooth' : 'auto'});
  return true;
};
const focusPassage = () => {
  let tries = 0;
  const timer = setInterval(() => {
    if (toPassage(false)) {
      clearInterval(timer);
      // On a desk the page shows the document's box; on a phone it is in the drawer already.
      if (!matchMedia('(max-width: 760px)').matches) box().scrollIntoView({block: 'nearest'});
    }
    else if (++tries > 50) clearInterval(timer);
  }, 100);
};
element.addEventListener('click', (ev) => {
  if (ev.target.closest('a.doc-jump')) { ev.preventDefault(); toPassage(true); }
});
focusPassage();  // the tab's content is mounted when first shown, with the document in it
watch('value', focusPassage);
