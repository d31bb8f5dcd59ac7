// After a document is rendered (and its tab shown), bring the cited passage into view.
// Runs as the document view's js_on_load: `element`, `watch` are gradio's.
const focusPassage = () => {
  let tries = 0;
  const timer = setInterval(() => {
    const el = element.querySelector('#doc-focus');
    if (el && el.offsetParent !== null) {
      clearInterval(timer);
      // Scroll the document's own box, so the page around it stays where it is.
      const box = element.closest('#document-view') || element;
      const offset = el.getBoundingClientRect().top - box.getBoundingClientRect().top;
      box.scrollTop += offset - box.clientHeight / 5;
      box.scrollIntoView({block: 'nearest'});
    } else if (++tries > 50) clearInterval(timer);
  }, 100);
};
focusPassage();  // the tab's content is mounted when first shown, with the document in it
watch('value', focusPassage);
