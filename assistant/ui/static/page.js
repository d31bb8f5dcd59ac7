() => {
  // What the page does in the browser, beyond gradio: the card of a citation on hover or
  // tap, the passages drawer on a phone and the way back from it, the queue place and
  // times in Chinese and local time, unavailable answer backends that cannot be chosen.
  if (window.__luohuPage) return;
  window.__luohuPage = true;

  const narrow = () => matchMedia('(max-width: 760px)').matches;
  const touch = () => matchMedia('(hover: none)').matches;
  const pad = (x) => String(x).padStart(2, '0');

  // -- the card of a citation ------------------------------------------------------------
  // Inside gradio's container: the page's CSS only reaches what is in it.
  const home = () => document.querySelector('.gradio-container .contain') || document.body;
  const pop = document.createElement('div');
  pop.id = 'cite-pop';
  pop.setAttribute('role', 'tooltip');
  pop.hidden = true;
  let hideTimer = null;
  let shownFor = null;   // the [n] link whose card is shown
  let lastCite = null;   // the [n] link last followed: where "back" returns to

  const target = (a) => {
    const m = (a.getAttribute('href') || '').match(/#cite-(\d+)-(\d+)/);
    return m ? {turn: Number(m[1]), n: Number(m[2])} : null;
  };
  // The chat drops data-* attributes: a card is found by its number's class in the
  // message that holds the link.
  const cardFor = (a) => {
    const t = target(a);
    const msg = a.closest('.message-content') || a.closest('.message') || a.parentElement;
    return t && msg ? msg.querySelector(`.cite-card.n${t.n}`) : null;
  };
  const hide = () => { pop.hidden = true; shownFor = null; };
  const hideSoon = () => { clearTimeout(hideTimer); hideTimer = setTimeout(hide, 300); };
  const show = (a) => {
    const card = cardFor(a);
    if (!card) return false;
    clearTimeout(hideTimer);
    pop.innerHTML = card.innerHTML;
    pop.hidden = false;
    shownFor = a;
    const r = a.getBoundingClientRect();
    const w = Math.min(380, innerWidth - 16);
    pop.style.width = `${w}px`;
    pop.style.left = `${Math.min(Math.max(8, r.left - 24), innerWidth - w - 8)}px`;
    const h = pop.offsetHeight;
    const below = r.bottom + 6;
    pop.style.top = `${below + h > innerHeight - 8 && r.top - 6 - h > 8 ? r.top - 6 - h : below}px`;
    return true;
  };
  const chatLink = (el) => (el && el.closest ? el.closest('#chat a.cite') : null);
  document.addEventListener('mouseover', (ev) => {
    const a = chatLink(ev.target);
    if (a && !touch()) show(a);
  });
  // On a touch screen a card stays until a tap elsewhere (a tap sends mouse events too).
  document.addEventListener('mouseout', (ev) => { if (chatLink(ev.target) && !touch()) hideSoon(); });
  document.addEventListener('focusin', (ev) => {
    const a = chatLink(ev.target);
    if (a && !touch()) show(a);  // a tap focuses too: the click decides there
  });
  document.addEventListener('focusout', (ev) => { if (chatLink(ev.target) && !touch()) hideSoon(); });
  pop.addEventListener('mouseenter', () => clearTimeout(hideTimer));
  pop.addEventListener('mouseleave', hideSoon);
  // A scroll moves the card with its link (the chat scrolls itself as answers arrive); it
  // goes when the link leaves the screen.
  document.addEventListener('scroll', (ev) => {
    if (pop.hidden || pop.contains(ev.target)) return;
    const r = shownFor && document.contains(shownFor) ? shownFor.getBoundingClientRect() : null;
    if (r && r.bottom > 0 && r.top < innerHeight && r.height > 0) show(shownFor);
    else hide();
  }, true);

  // Every [n] on the page (the chat's, the cards', the chart's) is caught here: on a
  // touch screen the first tap on a chat link shows its card; otherwise the passage is
  // shown (passages.js listens for 'luohu-cite').
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest ? ev.target.closest('a.cite') : null;
    if (!a) {
      if (!pop.hidden && !pop.contains(ev.target)) hide();
      return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    const inCard = pop.contains(a);
    if (touch() && !inCard && a.closest('#chat') && shownFor !== a && show(a)) return;
    const t = target(a);
    if (!t) return;
    lastCite = inCard ? shownFor : a;
    hide();
    if (narrow()) openDrawer();
    window.dispatchEvent(new CustomEvent('luohu-cite', {detail: t}));
  }, true);

  // -- the passages drawer on a phone, and the way back --------------------------------
  const side = () => document.querySelector('#side-panel');
  const openDrawer = () => { if (side()) side().classList.add('open'); };
  const closeDrawer = () => {
    if (side()) side().classList.remove('open');
    if (lastCite && document.contains(lastCite)) {
      lastCite.scrollIntoView({block: 'center'});
      lastCite.classList.remove('flash'); void lastCite.offsetWidth; lastCite.classList.add('flash');
    }
  };
  const place = setInterval(() => {  // once gradio has built the page
    if (!document.querySelector('.gradio-container .contain')) return;
    clearInterval(place);
    home().appendChild(pop);
  }, 100);
  document.addEventListener('click', (ev) => {
    if (!ev.target.closest) return;
    if (ev.target.closest('.drawer-back')) { ev.preventDefault(); closeDrawer(); }
    if (ev.target.closest('#drawer-open')) openDrawer();
  });
  window.addEventListener('luohu-open-doc', () => { if (narrow()) openDrawer(); });

  // -- what gradio writes in English, and times in the reader's zone -------------------
  const zh = (node) => {
    const text = node.data;
    let m = text.match(/^\s*queue:\s*(\d+)\/(\d*)\s*\|?\s*$/);
    if (m) { node.data = `排队中：第 ${m[1]} 位${m[2] ? `（共 ${m[2]} 人在等）` : ''} · `; return; }
    if (/^\s*processing\s*\|?\s*$/.test(text)) { node.data = '正在处理 · '; return; }
    const heading = {Info: '提示', Warning: '注意', Error: '出错', Success: '完成'}[text.trim()];
    if (heading && node.parentElement.closest('.toast-title-row')) node.data = heading;
  };
  const localTimes = () => {
    document.querySelectorAll('time.local:not([data-local])').forEach((t) => {
      const d = new Date(t.getAttribute('datetime'));
      if (Number.isNaN(d.getTime())) return;
      t.textContent = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
                      `${pad(d.getHours())}:${pad(d.getMinutes())}`;
      t.dataset.local = '1';
      t.title = '本地时间';
    });
  };
  // A conversation's time in the history list, stored in UTC, in the reader's zone. The
  // text node itself is changed (gradio keeps writing to it as the list changes).
  const historyTimes = () => {
    const list = document.querySelector('#history-list');
    if (!list) return;
    const walker = document.createTreeWalker(list, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const m = node.data.match(/ · (\d{4}-\d{2}-\d{2}T[\d:.]+(?:\+00:00|Z))$/);
      if (!m) continue;
      const d = new Date(m[1]);
      node.data = `${node.data.slice(0, m.index)} · ${pad(d.getMonth() + 1)}/${pad(d.getDate())} ` +
                  `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    }
  };
  // An unavailable backend is listed with its reason and cannot be picked.
  const backends = () => {
    document.querySelectorAll('#backend label').forEach((label) => {
      const off = label.textContent.includes('不可用');
      const input = label.querySelector('input');
      if (input && input.disabled !== off) input.disabled = off;
      label.classList.toggle('unavailable', off);
      label.setAttribute('aria-disabled', off ? 'true' : 'false');
    });
  };
  let queued = false;
  const tidy = () => {
    queued = false;
    const english = '.progress-text, .meta-text, .meta-text-center, .toast-title-row';
    document.querySelectorAll(english).forEach((el) => {
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) zh(walker.currentNode);
    });
    localTimes();
    historyTimes();
    backends();
  };
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(tidy); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});

  // -- a phone starts with the history closed -----------------------------------------
  // (it is built open, for a desk: on a phone it would cover the first screen)
  if (narrow()) {
    let tries = 0;
    const close = setInterval(() => {
      // The sidebar sets itself open when it mounts: close it until it stays closed.
      const bar = document.querySelector('#history-bar.open > .toggle-button');
      if (bar && tries > 5) bar.click();
      if ((!bar && tries > 10) || ++tries > 100) clearInterval(close);
    }, 150);
  }
}
