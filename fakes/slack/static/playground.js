// draftbot playground: a Slack-like channel that drives the real bot through the fake Slack.
//
// The page long-polls /playground/state for a full snapshot and re-renders from it. Everything the
// person does goes to /playground/act/* and reaches the bot as a signed Slack request. Message text is
// untrusted: it is only ever put in the DOM through textContent / createTextNode, never innerHTML.
//
// This module also exports the helpers the audit page uses (audit.js); it only boots the channel UI
// on the channel page (<body data-page="channel">).

// ------------------------------------------------------------------------------------------ DOM helpers

/** h("div", {class: "x", testid: "y", onclick: fn}, child, "text", [more]) — never parses HTML. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "testid") el.dataset.testid = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "href" || key === "src") {
      const url = safeUrl(value);
      if (url) el.setAttribute(key, url);
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Only http(s), mailto, same-origin paths and data: images may become a link or an image source. */
export function safeUrl(value) {
  const text = String(value ?? "").trim();
  if (!text) return null;
  if (text.startsWith("/") && !text.startsWith("//")) return text;
  if (text.startsWith("#")) return text;
  if (/^data:image\/(png|jpeg|gif|webp|svg\+xml)[;,]/i.test(text)) return text;
  try {
    const url = new URL(text, location.href);
    if (["http:", "https:", "mailto:"].includes(url.protocol)) return url.href;
  } catch {
    /* not a URL */
  }
  return null;
}

export function formatBytes(n) {
  if (typeof n !== "number" || !isFinite(n) || n < 0) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function pixelSize(w, hgt) {
  return w && hgt ? `${w} × ${hgt} px` : "";
}

/** Slack ts -> Date. */
export function tsDate(ts) {
  return new Date(parseFloat(ts) * 1000);
}

export function tsCompare(a, b) {
  const [as, af = "0"] = String(a).split(".");
  const [bs, bf = "0"] = String(b).split(".");
  return Number(as) - Number(bs) || Number(af.padEnd(6, "0")) - Number(bf.padEnd(6, "0"));
}

export function formatTime(date) {
  return date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

function formatDay(date) {
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return date.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric" });
}

// ---------------------------------------------------------------------------------------------- emoji

export const EMOJI = {
  "+1": "👍", thumbsup: "👍", "-1": "👎", thumbsdown: "👎", white_check_mark: "✅", heavy_check_mark: "✔️",
  ballot_box_with_check: "☑️", ballot_box_with_ballot: "🗳️", ballot_box: "🗳️", x: "❌", negative_squared_cross_mark: "❎", warning: "⚠️", hourglass: "⌛",
  hourglass_flowing_sand: "⏳", art: "🎨", trophy: "🏆", tada: "🎉", frame_with_picture: "🖼️",
  sparkles: "✨", heart: "❤️", eyes: "👀", fire: "🔥", rocket: "🚀", star: "⭐", star2: "🌟", zap: "⚡",
  bulb: "💡", camera: "📷", lock: "🔒", key: "🔑", mag: "🔍", memo: "📝", pencil: "📝", pencil2: "✏️",
  clipboard: "📋", scroll: "📜", package: "📦", inbox_tray: "📥", outbox_tray: "📤", bell: "🔔",
  no_entry: "⛔", no_entry_sign: "🚫", stop_sign: "🛑", red_circle: "🔴", large_green_circle: "🟢",
  large_yellow_circle: "🟡", large_blue_circle: "🔵", white_circle: "⚪", black_circle: "⚫",
  one: "1️⃣", two: "2️⃣", three: "3️⃣", four: "4️⃣", five: "5️⃣", six: "6️⃣", seven: "7️⃣", eight: "8️⃣",
  nine: "9️⃣", keycap_ten: "🔟", zero: "0️⃣", arrow_up: "⬆️", arrow_down: "⬇️", arrow_right: "➡️",
  arrow_left: "⬅️", arrows_counterclockwise: "🔄", repeat: "🔁", recycle: "♻️", hammer_and_wrench: "🛠️",
  gear: "⚙️", robot_face: "🤖", wave: "👋", raised_hands: "🙌", clap: "👏", pray: "🙏", muscle: "💪",
  ok_hand: "👌", point_right: "👉", point_up: "☝️", thinking_face: "🤔", smile: "😄", slightly_smiling_face: "🙂",
  grinning: "😀", joy: "😂", sweat_smile: "😅", confused: "😕", disappointed: "😞", cry: "😢", scream: "😱",
  sunglasses: "😎", heart_eyes: "😍", hugging_face: "🤗", partying_face: "🥳", 100: "💯", boom: "💥",
  information_source: "ℹ️", question: "❓", exclamation: "❗", heavy_plus_sign: "➕", heavy_minus_sign: "➖",
  link: "🔗", paperclip: "📎", calendar: "📅", clock1: "🕐", stopwatch: "⏱️", timer_clock: "⏲️",
  medal: "🏅", first_place_medal: "🥇", second_place_medal: "🥈", third_place_medal: "🥉",
  sports_medal: "🏅", crown: "👑", gem: "💎", moneybag: "💰", chart_with_upwards_trend: "📈",
  bar_chart: "📊", paintbrush: "🖌️", lower_left_paintbrush: "🖌️", crayon: "🖍️", film_frame: "🎞️",
  iphone: "📱", computer: "💻", desktop_computer: "🖥️", printer: "🖨️", globe_with_meridians: "🌐",
  email: "📧", envelope: "✉️", speech_balloon: "💬", thought_balloon: "💭", busts_in_silhouette: "👥",
  bust_in_silhouette: "👤", construction: "🚧", sparkle: "❇️", dizzy: "💫", rainbow: "🌈",
  sunny: "☀️", cloud: "☁️", snowflake: "❄️", coffee: "☕", pizza: "🍕", cake: "🍰", wine_glass: "🍷",
  ok: "🆗", new: "🆕", up: "🆙", cool: "🆒", free: "🆓", sos: "🆘", white_large_square: "⬜",
  black_large_square: "⬛", large_orange_diamond: "🔶", large_blue_diamond: "🔷", hash: "#️⃣",
  leftwards_arrow_with_hook: "↩️", arrow_forward: "▶️", pause_button: "⏸️", checkered_flag: "🏁",
  triangular_flag_on_post: "🚩", label: "🏷️", bookmark: "🔖", pushpin: "📌", round_pushpin: "📍",
  mag_right: "🔎", zzz: "💤", skull: "💀", ghost: "👻", see_no_evil: "🙈", eyeglasses: "👓",
};

/** The picker under "add reaction": [name, glyph]. */
export const PICKER = [
  ["+1", "👍"],
  ["white_check_mark", "✅"],
  ["heart", "❤️"],
  ["tada", "🎉"],
  ["eyes", "👀"],
  ["-1", "👎"],
  ["fire", "🔥"],
  ["rocket", "🚀"],
];

export function emojiGlyph(name) {
  const base = String(name).split("::")[0];
  return EMOJI[base] || null;
}

// Without an emoji font (a bare Debian) every emoji is the same blank box: 👍 and ✅ can't be told apart.
// Drawn once on a canvas beside a code point no font has (U+10FFFD); when the two look the same, the page
// shows emoji by name (html.no-emoji) and keeps the glyph in the text for copy, search and tests.
let emojiDrawable = null;
export function canDrawEmoji() {
  if (emojiDrawable !== null) return emojiDrawable;
  try {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 32;
    const g = canvas.getContext("2d", { willReadFrequently: true });
    g.textBaseline = "top";
    g.font = `24px ${getComputedStyle(document.documentElement).getPropertyValue("--emoji-font") || "sans-serif"}`;
    const draw = (text) => {
      g.clearRect(0, 0, 32, 32);
      g.fillText(text, 0, 0);
      return g.getImageData(0, 0, 32, 32).data.join(",");
    };
    emojiDrawable = draw("\u{1F44D}") !== draw("\u{10FFFD}");
  } catch {
    emojiDrawable = true; // no canvas to ask: show the glyphs
  }
  return emojiDrawable;
}

function emojiNode(name) {
  const glyph = emojiGlyph(name);
  if (!glyph) return document.createTextNode(`:${name}:`);
  return h(
    "span",
    { class: "emoji", title: `:${name}:`, role: "img", "aria-label": name },
    h("span", { class: "glyph" }, glyph),
    h("span", { class: "emoji-name", "aria-hidden": "true" }, `:${name}:`),
  );
}

// -------------------------------------------------------------------------------------- Slack mrkdwn

const ENTITIES = { lt: "<", gt: ">", amp: "&", quot: '"', "#39": "'", "#x27": "'" };

/** Slack escapes only &, < and > in text: decode them (once) for display. */
export function decodeEntities(text) {
  return String(text).replace(/&(lt|gt|amp|quot|#39|#x27);/g, (_, name) => ENTITIES[name]);
}

const INLINE_RULES = [
  ["code", /`([^`\n]+?)`/g],
  ["angle", /<([^<>\n]+)>/g],
  ["bold", /(?<![\p{L}\p{N}_*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\p{L}\p{N}_*])/gu],
  ["italic", /(?<![\p{L}\p{N}_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\p{L}\p{N}_])/gu],
  ["strike", /(?<![\p{L}\p{N}_~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\p{L}\p{N}_~])/gu],
  ["emoji", /:([a-z0-9_+\-']+(?:::skin-tone-[2-6])?):/g],
];

/**
 * Render Slack mrkdwn to a DocumentFragment: *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes,
 * <@U…>, <#C…>, <!here>, <url|text>, :emoji:. Text nodes only: nothing is parsed as HTML.
 */
export function renderMrkdwn(text, ctx) {
  const frag = document.createDocumentFragment();
  const source = String(text ?? "");
  let parts = source.split("```");
  if (parts.length % 2 === 0) {
    // an unclosed fence is literal text
    const last = parts.pop();
    parts[parts.length - 1] += "```" + last;
  }
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      frag.appendChild(h("pre", null, decodeEntities(part.replace(/^\n/, "").replace(/\n$/, ""))));
      return;
    }
    let segment = part;
    if (i > 0) segment = segment.replace(/^\n/, "");
    if (i < parts.length - 1) segment = segment.replace(/\n$/, "");
    if (segment) renderLines(segment, frag, ctx);
  });
  return frag;
}

function renderLines(segment, frag, ctx) {
  const lines = segment.split("\n");
  let quote = null;
  let restQuoted = false;
  let needBreak = false;
  for (const line of lines) {
    let quoted = restQuoted;
    let content = line;
    const multi = /^(&gt;|>){3}\s?/.exec(line);
    const single = /^(&gt;|>)\s?/.exec(line);
    if (!quoted && multi) {
      restQuoted = quoted = true;
      content = line.slice(multi[0].length);
    } else if (!quoted && single) {
      quoted = true;
      content = line.slice(single[0].length);
    }
    if (quoted) {
      if (!quote) {
        quote = h("blockquote");
        frag.appendChild(quote);
        needBreak = false;
      } else quote.appendChild(h("br"));
      quote.appendChild(renderInline(content, ctx));
    } else {
      if (quote) {
        quote = null;
        needBreak = false;
      }
      if (needBreak) frag.appendChild(h("br"));
      frag.appendChild(renderInline(content, ctx));
      needBreak = true;
    }
  }
}

export function renderInline(text, ctx) {
  const frag = document.createDocumentFragment();
  let pos = 0;
  while (pos < text.length) {
    let best = null;
    for (const [kind, re] of INLINE_RULES) {
      re.lastIndex = pos;
      const match = re.exec(text);
      if (match && (best === null || match.index < best.match.index)) best = { kind, match };
    }
    if (!best) break;
    const { kind, match } = best;
    if (match.index > pos) frag.appendChild(document.createTextNode(decodeEntities(text.slice(pos, match.index))));
    const inner = match[1];
    if (kind === "code") frag.appendChild(h("code", null, decodeEntities(inner)));
    else if (kind === "bold") frag.appendChild(h("b", null, renderInline(inner, ctx)));
    else if (kind === "italic") frag.appendChild(h("i", null, renderInline(inner, ctx)));
    else if (kind === "strike") frag.appendChild(h("s", null, renderInline(inner, ctx)));
    else if (kind === "emoji") frag.appendChild(emojiNode(inner));
    else frag.appendChild(renderAngle(inner, ctx));
    pos = match.index + match[0].length;
  }
  if (pos < text.length) frag.appendChild(document.createTextNode(decodeEntities(text.slice(pos))));
  return frag;
}

function renderAngle(inner, ctx) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? decodeEntities(inner.slice(bar + 1)) : null;
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const me = ctx && ctx.currentUser === id;
    return h("span", { class: `mention${me ? " me" : ""}`, "data-user": id }, "@" + (label || userName(ctx, id)));
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const channel = ctx && ctx.channels ? ctx.channels[id] : null;
    const name = label || (channel ? channel.name : id);
    return h("span", { class: "mention channel-link", "data-channel": id }, "#" + name);
  }
  if (target.startsWith("!")) {
    const special = target.slice(1);
    if (["here", "channel", "everyone"].includes(special)) return h("span", { class: "mention" }, "@" + special);
    if (special.startsWith("subteam^")) return h("span", { class: "mention" }, label || "@group");
    if (special.startsWith("date^")) {
      const [, stamp] = special.split("^");
      const date = new Date(Number(stamp) * 1000);
      return document.createTextNode(isNaN(date) ? label || "" : date.toLocaleString());
    }
    return document.createTextNode(label || `<${decodeEntities(target)}>`);
  }
  const href = decodeEntities(target);
  if (/^(https?:|mailto:)/i.test(href) && safeUrl(href)) {
    return h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label || href.replace(/^mailto:/i, ""));
  }
  return document.createTextNode(`<${decodeEntities(inner)}>`);
}

/** plain_text objects: entities decoded, :emoji: converted when ``emoji`` is not false. */
export function renderPlain(textObject) {
  const frag = document.createDocumentFragment();
  if (!textObject) return frag;
  const text = decodeEntities(typeof textObject === "string" ? textObject : textObject.text ?? "");
  if (typeof textObject === "object" && textObject.emoji === false) {
    frag.appendChild(document.createTextNode(text));
    return frag;
  }
  const re = /:([a-z0-9_+\-']+(?:::skin-tone-[2-6])?):/g;
  let pos = 0;
  for (const match of text.matchAll(re)) {
    if (!emojiGlyph(match[1])) continue;
    if (match.index > pos) frag.appendChild(document.createTextNode(text.slice(pos, match.index)));
    frag.appendChild(emojiNode(match[1]));
    pos = match.index + match[0].length;
  }
  if (pos < text.length) frag.appendChild(document.createTextNode(text.slice(pos)));
  return frag;
}

function renderText(textObject, ctx) {
  if (!textObject) return h("span");
  if (textObject.type === "mrkdwn") return h("div", { class: "mrkdwn" }, renderMrkdwn(textObject.text, ctx));
  return h("div", { class: "plain" }, renderPlain(textObject));
}

export function plainString(textObject) {
  if (!textObject) return "";
  return decodeEntities(typeof textObject === "string" ? textObject : textObject.text ?? "");
}

// ------------------------------------------------------------------------------------------- people

export function userName(ctx, id) {
  const user = ctx && ctx.users ? ctx.users[id] : null;
  if (!user) return id;
  const profile = user.profile || {};
  return profile.display_name || user.real_name || user.name || id;
}

const AVATAR_COLORS = ["#2a80b9", "#e0568b", "#2bac76", "#e8912d", "#7c3085", "#1d9bd1", "#d04040", "#4a6b82"];

export function avatar(user, size = "") {
  const cls = `avatar${size ? " avatar-" + size : ""}`;
  if (!user) return h("span", { class: cls, style: { background: "#999" } }, "?");
  if (user.is_bot) return h("span", { class: `${cls} bot`, "aria-hidden": "true" }, "🎨");
  const name = (user.profile && user.profile.display_name) || user.real_name || user.name || user.id;
  let hash = 0;
  for (const ch of user.id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return h(
    "span",
    { class: cls, style: { background: AVATAR_COLORS[hash % AVATAR_COLORS.length] }, "aria-hidden": "true" },
    name.slice(0, 1).toUpperCase(),
  );
}

// ------------------------------------------------------------------------------------------- images

/** Where an image block (or context image) points: {url, file}. */
export function resolveImage(element, ctx) {
  if (element.slack_file) {
    const ref = element.slack_file;
    let file = null;
    if (ref.id) file = ctx.files[ref.id] || null;
    else if (ref.url) file = Object.values(ctx.files).find((f) => [f.url_private, f.permalink, f.url_private_download].includes(ref.url)) || null;
    return { url: file ? file.playground_url : null, file };
  }
  return { url: element.image_url || null, file: null };
}

function fitBox(w, hgt, max) {
  if (!w || !hgt) return null;
  const scale = Math.min(1, max / w, max / hgt);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(hgt * scale)) };
}

/** A variant thumbnail; click opens the lightbox over every image of the same pane. */
function thumbnail({ url, file, alt, title, tier }, ctx) {
  const box = file ? fitBox(file.original_w, file.original_h, 360) : null;
  const img = h("img", {
    class: "thumb",
    src: url,
    alt: alt || (file ? file.title || file.name : "image"),
    testid: "variant-image",
    width: box ? box.width : null,
    height: box ? box.height : null,
    dataset: { fileId: file ? file.id : "", tier: tier || "" },
  });
  if (box) img.style.width = `${box.width}px`; // the wrapper (and its badge) hugs the image
  const item = { url, file, title: title || (file ? file.title || file.name : alt || "Image"), tier };
  img._lightboxItem = item;
  img.addEventListener("click", () => {
    const pane = img.closest(".messages, .thread-messages, .audit-gallery") || document.body;
    const images = [...pane.querySelectorAll("img.thumb")].filter((i) => i._lightboxItem);
    openLightbox(images.map((i) => i._lightboxItem), images.indexOf(img));
  });
  if (ctx && ctx.onImageLoad) img.addEventListener("load", ctx.onImageLoad);
  return h("div", { class: "thumb-wrap" }, img, tier ? h("span", { class: "thumb-badge" }, tier) : null);
}

// ------------------------------------------------------------------------------------------ lightbox

let lightbox = null;

/** Full-size viewer: items are {url, file, title, tier}; shows pixel and file size. */
export function openLightbox(items, index = 0) {
  if (!items || !items.length) return;
  closeLightbox();
  let current = Math.max(0, index);
  const img = h("img", { alt: "" });
  const title = h("span", { class: "lightbox-title" });
  const size = h("span", { class: "lightbox-size", testid: "lightbox-size" });
  const bytes = h("span", { class: "lightbox-bytes", testid: "lightbox-bytes" });
  const tier = h("span", { class: "lightbox-tier" });
  const open = h("a", { class: "lightbox-open", target: "_blank", rel: "noopener" }, "Open original ↗");
  const prev = h("button", { type: "button", class: "lightbox-nav prev", "aria-label": "Previous image" }, "‹");
  const next = h("button", { type: "button", class: "lightbox-nav next", "aria-label": "Next image" }, "›");
  const close = h("button", { type: "button", class: "icon-button", "aria-label": "Close", testid: "lightbox-close" }, "✕");
  const stage = h("div", { class: "lightbox-stage" }, img, prev, next);
  const root = h(
    "div",
    { class: "lightbox", testid: "lightbox", role: "dialog", "aria-modal": "true", "aria-label": "Image" },
    h("div", { class: "lightbox-top" }, title, h("span", { class: "lightbox-meta" }, tier, size, bytes), h("span", { class: "lightbox-spacer" }), open, close),
    stage,
  );
  const show = () => {
    const item = items[current];
    const file = item.file;
    img.src = safeUrl(item.url) || "";
    img.alt = item.title || "";
    title.textContent = item.title || "Image";
    tier.textContent = item.tier || "";
    tier.hidden = !item.tier;
    size.textContent = file && file.original_w ? pixelSize(file.original_w, file.original_h) : "";
    const details = [];
    if (file && typeof file.size === "number") details.push(formatBytes(file.size));
    if (file && file.pretty_type) details.push(file.pretty_type);
    bytes.textContent = details.length ? "· " + details.join(" · ") : "";
    const href = safeUrl(item.url);
    if (href) open.setAttribute("href", href);
    prev.hidden = next.hidden = items.length < 2;
    root.dataset.index = String(current);
  };
  img.addEventListener("load", () => {
    const item = items[current];
    if (!(item.file && item.file.original_w)) size.textContent = pixelSize(img.naturalWidth, img.naturalHeight);
  });
  prev.addEventListener("click", (e) => {
    e.stopPropagation();
    current = (current - 1 + items.length) % items.length;
    show();
  });
  next.addEventListener("click", (e) => {
    e.stopPropagation();
    current = (current + 1) % items.length;
    show();
  });
  close.addEventListener("click", closeLightbox);
  stage.addEventListener("click", (e) => {
    if (e.target === stage) closeLightbox();
  });
  root._keys = (e) => {
    if (e.key === "Escape") closeLightbox();
    else if (e.key === "ArrowLeft" && items.length > 1) prev.click();
    else if (e.key === "ArrowRight" && items.length > 1) next.click();
  };
  document.addEventListener("keydown", root._keys);
  show();
  document.body.appendChild(root);
  lightbox = root;
  close.focus();
}

export function closeLightbox() {
  if (!lightbox) return;
  document.removeEventListener("keydown", lightbox._keys);
  lightbox.remove();
  lightbox = null;
}

// -------------------------------------------------------------------------------------------- toasts

export function toast(message, kind = "info") {
  let holder = document.querySelector(".toasts");
  if (!holder) {
    holder = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(holder);
  }
  const item = h("div", { class: `toast ${kind}`, testid: "toast" }, message);
  holder.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

// ----------------------------------------------------------------------------------------- Block Kit

/**
 * Render a blocks array. ``msg`` = {channel, ts} of the message the blocks belong to (buttons send block
 * actions for it); null in a modal, where buttons are shown but not wired.
 */
export function renderBlocks(blocks, ctx, msg, opts = {}) {
  const root = h("div", { class: "blocks" });
  let badge = opts.tier; // the message's own image: not a side-by-side or other picture below it
  (blocks || []).forEach((block, index) => {
    if (!block || typeof block !== "object") return;
    const el = renderBlock(block, ctx, msg, { ...opts, tier: block.type === "image" ? badge : null });
    if (block.type === "image") badge = null;
    if (!el) return;
    // Slack fills in block ids; a modal's input needs one to be reported in state.values
    const blockId = block.block_id || (block.type === "input" ? `block-${index}` : null);
    if (blockId) el.dataset.blockId = blockId;
    root.appendChild(el);
  });
  return root;
}

function renderBlock(block, ctx, msg, opts) {
  switch (block.type) {
    case "header":
      return h("div", { class: "bk-header" }, renderPlain(block.text));
    case "section": {
      const main = h("div", { class: "bk-section-main" });
      if (block.text) main.appendChild(renderText(block.text, ctx));
      if (Array.isArray(block.fields) && block.fields.length) {
        main.appendChild(h("div", { class: "bk-fields" }, block.fields.map((f) => renderText(f, ctx))));
      }
      const accessory = block.accessory ? renderElement(block.accessory, block, ctx, msg, opts) : null;
      return h("div", { class: "bk-section" }, main, accessory ? h("div", { class: "bk-section-accessory" }, accessory) : null);
    }
    case "context":
      return h(
        "div",
        { class: "bk-context" },
        (block.elements || []).map((el) => {
          if (el.type === "image") {
            const { url } = resolveImage(el, ctx);
            return url ? h("img", { src: url, alt: el.alt_text || "", title: el.alt_text || "" }) : null;
          }
          return renderText(el, ctx);
        }),
      );
    case "divider":
      return h("hr", { class: "bk-divider" });
    case "image": {
      const { url, file } = resolveImage(block, ctx);
      if (!url) return h("div", { class: "bk-unsupported" }, "[image unavailable]");
      return h(
        "div",
        { class: "bk-image" },
        block.title ? h("div", { class: "bk-image-title" }, renderPlain(block.title)) : null,
        thumbnail({ url, file, alt: block.alt_text, title: plainString(block.title) || block.alt_text, tier: opts.tier }, ctx),
      );
    }
    case "actions":
      return h("div", { class: "bk-actions" }, (block.elements || []).map((el) => renderElement(el, block, ctx, msg, opts)));
    case "input":
      return renderInputBlock(block, ctx, opts);
    case "rich_text":
      return h("div", { class: "mrkdwn" }, (block.elements || []).map((el) => renderRich(el, ctx)));
    case "markdown":
      return h("div", { class: "mrkdwn" }, renderMrkdwn(String(block.text || "").replace(/\*\*(.+?)\*\*/g, "*$1*"), ctx));
    case "file":
      return h("div", { class: "bk-unsupported" }, "[remote file]");
    default:
      return h("div", { class: "bk-unsupported" }, `[unsupported block: ${block.type}]`);
  }
}

function renderRich(el, ctx) {
  const inline = (items) =>
    (items || []).map((item) => {
      if (item.type === "text") {
        let node = document.createTextNode(item.text || "");
        const style = item.style || {};
        if (style.code) node = h("code", null, node);
        if (style.bold) node = h("b", null, node);
        if (style.italic) node = h("i", null, node);
        if (style.strike) node = h("s", null, node);
        return node;
      }
      if (item.type === "emoji") return emojiNode(item.name);
      if (item.type === "link") return h("a", { href: item.url, target: "_blank", rel: "noopener noreferrer" }, item.text || item.url);
      if (item.type === "user") return renderAngle("@" + item.user_id, ctx);
      if (item.type === "channel") return renderAngle("#" + item.channel_id, ctx);
      if (item.type === "broadcast") return h("span", { class: "mention" }, "@" + item.range);
      return null;
    });
  switch (el.type) {
    case "rich_text_section":
      return h("div", null, inline(el.elements));
    case "rich_text_preformatted":
      return h("pre", null, inline(el.elements));
    case "rich_text_quote":
      return h("blockquote", null, inline(el.elements));
    case "rich_text_list":
      return h(el.style === "ordered" ? "ol" : "ul", { class: "bk-rich-list" }, (el.elements || []).map((item) => h("li", null, inline(item.elements))));
    default:
      return null;
  }
}

function renderElement(el, block, ctx, msg, opts) {
  if (!el || typeof el !== "object") return null;
  if (el.type === "button") return renderButton(el, block, ctx, msg);
  if (el.type === "static_select" && msg) return renderMenu(el, block, ctx, msg);
  if (el.type === "image") {
    const { url } = resolveImage(el, ctx);
    return url ? h("img", { src: url, alt: el.alt_text || "" }) : null;
  }
  return h("span", { class: "bk-unsupported" }, `[${el.type}]`);
}

function renderButton(el, block, ctx, msg) {
  const key = msg ? `${msg.ts}|${el.action_id}` : null;
  const busy = key && ctx.busy && ctx.busy.has(key);
  const style = el.style === "primary" || el.style === "danger" ? ` ${el.style}` : "";
  const button = h(
    "button",
    {
      type: "button",
      class: `bk-button${style}${msg ? "" : " unsupported"}`,
      testid: "block-button",
      "data-action-id": el.action_id || "",
      "data-value": el.value ?? null,
      "data-block-id": block.block_id || null,
      disabled: busy || !msg,
      title: msg ? null : "Buttons inside modals are not supported by the playground",
    },
    busy ? h("span", { class: "spinner", "aria-hidden": "true" }) : null,
    renderPlain(el.text),
  );
  if (msg && ctx.onButton) button.addEventListener("click", () => ctx.onButton(msg, el, block, button));
  return button;
}

// A select menu in a message: choosing an option sends block_actions with selected_option, as Slack does.
function renderMenu(el, block, ctx, msg) {
  const key = `${msg.ts}|${el.action_id}`;
  const busy = ctx.busy && ctx.busy.has(key);
  const menu = h(
    "select",
    {
      class: "bk-menu",
      testid: "block-select",
      "data-action-id": el.action_id || "",
      "data-block-id": block.block_id || null,
      disabled: busy,
    },
    h("option", { value: "" }, plainString(el.placeholder) || "Choose an option"),
    ...(el.options || []).map((option) => h("option", { value: option.value }, plainString(option.text))),
  );
  if (ctx.onButton) {
    menu.addEventListener("change", () => {
      if (menu.value) ctx.onButton(msg, { ...el, value: menu.value, text: el.placeholder }, block, menu);
    });
  }
  return menu;
}

// ------------------------------------------------------------------------------------- modal inputs

let inputCounter = 0;

function optionOf(option) {
  return option ? { text: option.text, value: option.value } : null;
}

function renderInputBlock(block, ctx, opts) {
  const el = block.element || {};
  const id = `bk-input-${++inputCounter}`;
  const values = (opts.values && opts.values[block.block_id]) || {};
  const previous = values[el.action_id] || null;
  let control;
  const common = { id, class: "bk-control", "data-action-id": el.action_id || "", "data-type": el.type, testid: "modal-input" };
  switch (el.type) {
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input": {
      const value = previous && previous.value != null ? previous.value : el.initial_value || "";
      const attrs = { ...common, placeholder: plainString(el.placeholder) || null, maxlength: el.max_length || null };
      if (el.multiline) {
        control = h("textarea", attrs);
        control.value = value;
      } else {
        control = h("input", { ...attrs, type: el.type === "email_text_input" ? "email" : el.type === "url_text_input" ? "url" : "text" });
        control.value = value;
      }
      break;
    }
    case "number_input": {
      control = h("input", {
        ...common,
        type: "number",
        step: el.is_decimal_allowed ? "any" : "1",
        min: el.min_value ?? null,
        max: el.max_value ?? null,
        placeholder: plainString(el.placeholder) || null,
      });
      control.value = previous && previous.value != null ? previous.value : el.initial_value ?? "";
      break;
    }
    case "users_select":
    case "multi_users_select": {
      // the workspace's people, as Slack's user pickers offer them
      const multiple = el.type === "multi_users_select";
      control = h("select", { ...common, multiple });
      const chosen = new Set(
        previous
          ? multiple ? previous.selected_users || [] : [previous.selected_user].filter(Boolean)
          : multiple ? el.initial_users || [] : [el.initial_user].filter(Boolean),
      );
      if (!multiple) control.appendChild(h("option", { value: "" }, plainString(el.placeholder) || "Choose someone"));
      for (const person of people(app.snap)) {
        const node = h("option", { value: person.id }, person.real_name || person.name);
        node.selected = chosen.has(person.id);
        control.appendChild(node);
      }
      break;
    }
    case "static_select":
    case "multi_static_select": {
      const multiple = el.type === "multi_static_select";
      control = h("select", { ...common, multiple });
      const selected = new Set();
      const initial = previous
        ? multiple ? previous.selected_options || [] : [previous.selected_option].filter(Boolean)
        : multiple ? el.initial_options || [] : [el.initial_option].filter(Boolean);
      for (const option of initial) selected.add(option.value);
      if (!multiple) control.appendChild(h("option", { value: "" }, plainString(el.placeholder) || "Choose an option"));
      const options = el.options || (el.option_groups || []).flatMap((g) => g.options || []);
      control._options = options;
      for (const option of options) {
        const node = h("option", { value: option.value }, plainString(option.text));
        node.selected = selected.has(option.value);
        control.appendChild(node);
      }
      break;
    }
    case "checkboxes":
    case "radio_buttons": {
      const multiple = el.type === "checkboxes";
      const initial = previous
        ? multiple ? previous.selected_options || [] : [previous.selected_option].filter(Boolean)
        : multiple ? el.initial_options || [] : [el.initial_option].filter(Boolean);
      const selected = new Set(initial.map((o) => o.value));
      control = h("div", { class: "bk-choices", "data-action-id": el.action_id || "", "data-type": el.type, id });
      control._options = el.options || [];
      for (const option of el.options || []) {
        const input = h("input", { type: multiple ? "checkbox" : "radio", name: id, value: option.value });
        input.checked = selected.has(option.value);
        const description = option.description ? h("span", { class: "bk-choice-description" }, renderPlain(option.description)) : null;
        control.appendChild(h("label", null, input, h("span", { class: "bk-choice-text" }, h("span", null, renderPlain(option.text)), description)));
      }
      break;
    }
    default:
      control = h("div", { class: "bk-unsupported", "data-type": "unsupported" }, `[${el.type || "input"} is not supported by the playground]`);
  }
  return h(
    "div",
    {
      class: "bk-input",
      "data-input": "true",
      "data-optional": block.optional ? "true" : null,
      "data-min-length": el.min_length || null,
    },
    h("label", { class: "bk-input-label", for: id }, renderPlain(block.label), block.optional ? h("span", { class: "optional" }, " (optional)") : null),
    control,
    block.hint ? h("div", { class: "bk-input-hint" }, renderPlain(block.hint)) : null,
    h("div", { class: "bk-input-error", testid: "field-error", hidden: true }),
  );
}

/** Collect modal inputs in Slack's state.values shape: {block_id: {action_id: {type, ...}}}. */
export function collectValues(container) {
  const values = {};
  for (const blockEl of container.querySelectorAll(".bk-input[data-block-id]")) {
    const control = blockEl.querySelector("[data-type]");
    if (!control) continue;
    const type = control.dataset.type;
    const actionId = control.dataset.actionId;
    if (!actionId || type === "unsupported") continue;
    let value;
    if (["plain_text_input", "email_text_input", "url_text_input", "number_input"].includes(type)) {
      value = { type, value: control.value === "" ? null : control.value };
    } else if (type === "static_select") {
      const option = (control._options || []).find((o) => o.value === control.value);
      value = { type, selected_option: optionOf(option) };
    } else if (type === "multi_users_select") {
      value = { type, selected_users: [...control.selectedOptions].map((o) => o.value) };
    } else if (type === "users_select") {
      value = { type, selected_user: control.value || null };
    } else if (type === "multi_static_select") {
      const chosen = new Set([...control.selectedOptions].map((o) => o.value));
      value = { type, selected_options: (control._options || []).filter((o) => chosen.has(o.value)).map(optionOf) };
    } else if (type === "checkboxes") {
      const chosen = new Set([...control.querySelectorAll("input:checked")].map((i) => i.value));
      value = { type, selected_options: (control._options || []).filter((o) => chosen.has(o.value)).map(optionOf) };
    } else if (type === "radio_buttons") {
      const checked = control.querySelector("input:checked");
      const option = checked ? (control._options || []).find((o) => o.value === checked.value) : null;
      value = { type, selected_option: optionOf(option) };
    } else continue;
    values[blockEl.dataset.blockId] = { ...(values[blockEl.dataset.blockId] || {}), [actionId]: value };
  }
  return values;
}

// --------------------------------------------------------------------------------------------- API

export async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new Error((data && data.error) || `HTTP ${response.status}`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

export function draftIdOf(message) {
  const meta = message && message.metadata;
  if (!meta || !meta.event_payload) return null;
  const id = meta.event_payload.draft_id;
  return id === undefined || id === null ? null : id;
}

export function imageMetaOf(message) {
  const meta = message && message.metadata;
  if (!meta || meta.event_type !== "draftbot_image" || !meta.event_payload) return null;
  return meta.event_payload;
}

// =================================================================================== the channel page

const STORAGE_USER = "draftbot.playground.user";
const DISMISSED = "draftbot.playground.dismissed";

const app = {
  snap: null,
  version: 0,
  user: localStorage.getItem(STORAGE_USER) || null,
  channel: null,
  thread: null, // parent ts of the open thread
  busy: new Set(), // `${ts}|${action_id}` of buttons in flight
  dismissed: new Set(JSON.parse(sessionStorage.getItem(DISMISSED) || "[]")),
  seen: {}, // channel -> number of messages seen
  pollGeneration: 0,
  pollAbort: null,
  modalKey: null,
  closing: new Set(), // view ids closed on the page, until the state says so too
  modalErrors: {},
  picker: null,
  home: false, // the app's Home tab is open instead of a channel
  homeOpenedFor: null, // whose app_home_opened was sent for this visit of the Home
};

function ctxFor() {
  const snap = app.snap;
  const users = Object.fromEntries(snap.users.map((u) => [u.id, u]));
  const channels = Object.fromEntries(snap.channels.map((c) => [c.id, c]));
  const files = Object.fromEntries(snap.files.map((f) => [f.id, f]));
  return {
    users,
    channels,
    files,
    currentUser: app.user,
    busy: app.busy,
    onButton: clickButton,
  };
}

function people(snap) {
  return snap.users.filter((u) => !u.is_bot && !u.deleted);
}

// ------------------------------------------------------------------------------------------- polling

async function poll() {
  const generation = ++app.pollGeneration;
  let wait = 0;
  let failures = 0;
  while (generation === app.pollGeneration) {
    const controller = new AbortController();
    app.pollAbort = controller;
    const since = wait ? app.version : 0;
    const url = `/playground/state?since=${since}&wait=${wait}` + (app.user ? `&user=${encodeURIComponent(app.user)}` : "");
    try {
      const response = await fetch(url, { signal: controller.signal, cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const snap = await response.json();
      if (generation !== app.pollGeneration) return;
      failures = 0;
      document.getElementById("connection").hidden = true;
      const changed = !app.snap || snap.version !== app.version || !wait;
      app.snap = snap;
      app.version = snap.version;
      if (changed) render();
      wait = 25;
    } catch (error) {
      if (generation !== app.pollGeneration) return;
      failures += 1;
      if (failures > 1) document.getElementById("connection").hidden = false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * failures)));
      wait = 0;
    }
  }
}

function restartPoll() {
  if (app.pollAbort) app.pollAbort.abort();
  poll();
}

// -------------------------------------------------------------------------------------------- render

function render() {
  const snap = app.snap;
  if (!snap) return;
  const humans = people(snap);
  if (!app.user || !humans.some((u) => u.id === app.user)) {
    const fallback = humans[0];
    if (fallback && fallback.id !== app.user) {
      app.user = fallback.id;
      localStorage.setItem(STORAGE_USER, app.user);
      restartPoll(); // ephemerals and views are per user
      return;
    }
  }
  const visible = snap.channels.filter((c) => !c.is_im || c.name === app.user);
  if (!app.channel || !visible.some((c) => c.id === app.channel)) {
    const general = visible.find((c) => c.is_general) || visible[0];
    app.channel = general ? general.id : null;
  }
  const ctx = ctxFor();
  document.getElementById("team-name").textContent = snap.team.name;
  document.title = `#${channelLabel(ctx, app.channel)} · ${snap.team.name} · draftbot playground`;
  renderSwitcher(ctx, humans);
  renderSidebar(ctx, visible);
  if (app.home) renderHome(ctx);
  else renderChannel(ctx);
  renderThread(ctx);
  renderModal(ctx);
}

function channelLabel(ctx, id) {
  const channel = ctx.channels[id];
  if (!channel) return id || "";
  return channel.is_im ? app.snap.bot.name : channel.name;
}

function renderSwitcher(ctx, humans) {
  const select = document.getElementById("user-switcher");
  const wanted = humans.map((u) => `${u.id}:${userName(ctx, u.id)}`).join(",");
  if (select.dataset.users !== wanted) {
    select.replaceChildren(...humans.map((u) => h("option", { value: u.id, title: u.real_name || null }, userName(ctx, u.id))));
    select.dataset.users = wanted;
  }
  if (select.value !== app.user) select.value = app.user;
  const holder = document.getElementById("switcher-avatar");
  holder.replaceWith(Object.assign(avatar(ctx.users[app.user], "sm"), { id: "switcher-avatar" }));
}

function renderSidebar(ctx, visible) {
  const channelsEl = document.getElementById("channel-list");
  const dmsEl = document.getElementById("dm-list");
  const appsEl = document.getElementById("app-list");
  const snap = app.snap;
  const item = (channel, icon, label, extra) => {
    const count = (snap.messages[channel.id] || []).length;
    if (channel.id === app.channel || app.seen[channel.id] === undefined) app.seen[channel.id] = count;
    const unread = count - app.seen[channel.id];
    return h(
      "li",
      null,
      h(
        "a",
        {
          class: `sidebar-item${channel.id === app.channel && !app.home ? " active" : ""}${unread > 0 ? " unread" : ""}`,
          href: `#/${channel.id}`,
          testid: "channel-link",
          "data-channel": channel.id,
        },
        icon,
        h("span", null, label),
        extra,
        unread > 0 && channel.is_im ? h("span", { class: "badge" }, String(unread)) : null,
      ),
    );
  };
  channelsEl.replaceChildren(
    ...visible.filter((c) => !c.is_im).map((c) => item(c, h("span", { class: "hash" }, c.is_private ? "🔒" : "#"), c.name)),
  );
  const im = visible.find((c) => c.is_im);
  const botUser = ctx.users[snap.bot.user_id];
  appsEl.replaceChildren(
    im
      ? item(im, avatar(botUser, "xs"), snap.bot.name)
      : h("li", null, h("span", { class: "sidebar-item disabled" }, avatar(botUser, "xs"), h("span", null, snap.bot.name))),
    h(
      "li",
      null,
      h(
        "a",
        { class: `sidebar-item${app.home ? " active" : ""}`, href: "#/home", testid: "home-link", onclick: openHome },
        h("span", { class: "hash" }, "⌂"),
        h("span", null, `${snap.bot.name} Home`),
      ),
    ),
  );
  dmsEl.replaceChildren(
    ...people(snap).map((u) =>
      h(
        "li",
        null,
        h(
          "span",
          { class: "sidebar-item disabled", title: u.id === app.user ? "You" : "Direct messages are not part of the playground" },
          h("span", { class: `presence${u.id === app.user ? "" : " away"}` }),
          h("span", null, userName(ctx, u.id)),
          u.id === app.user ? h("span", { class: "you" }, "you") : null,
        ),
      ),
    ),
  );
}

/** Keep the scroll position (or stick to the bottom) across a full re-render of ``el``. */
function preserveScroll(el, fill, { toBottom = false } = {}) {
  const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  const top = el.scrollTop;
  fill();
  if (toBottom || atBottom) el.scrollTop = el.scrollHeight;
  else el.scrollTop = top;
  return toBottom || atBottom;
}

function ephemeralsFor(channel) {
  return (app.snap.ephemerals || []).filter((e) => e.channel === channel && e.user === app.user && !app.dismissed.has(e.ts));
}

function threadRootOf(channel, ts) {
  const threads = app.snap.threads[channel] || {};
  if (threads[ts]) return ts;
  for (const [parent, replies] of Object.entries(threads)) if (replies.some((r) => r.ts === ts)) return parent;
  return ts;
}

function renderChannel(ctx) {
  const snap = app.snap;
  const channel = ctx.channels[app.channel];
  const list = document.getElementById("messages");
  const label = channel ? (channel.is_im ? snap.bot.name : channel.name) : "";
  document.getElementById("channel-name").textContent = channel ? (channel.is_im ? label : `# ${label}`) : "";
  document.getElementById("channel-topic").textContent = channel && channel.topic ? channel.topic.value || "" : "";
  const humans = people(snap);
  document.getElementById("channel-members").replaceChildren(
    h("span", { class: "stack" }, humans.slice(0, 3).map((u) => avatar(u, "xs"))),
    h("span", null, String(humans.length + 1)),
  );
  document.getElementById("composer-form").hidden = false;
  const composer = document.getElementById("composer");
  const placeholder = `Message ${channel && !channel.is_im ? "#" : ""}${label}`;
  if (composer.placeholder !== placeholder) composer.placeholder = placeholder;
  const switched = list.dataset.channel !== app.channel;
  list.dataset.channel = app.channel || "";
  const messages = (snap.messages[app.channel] || []).map((m) => ({ message: m }));
  for (const e of ephemeralsFor(app.channel)) {
    if (!e.thread_ts) messages.push({ message: e, ephemeral: true });
  }
  messages.sort((a, b) => tsCompare(a.message.ts, b.message.ts));
  const threadEphemerals = {};
  for (const e of ephemeralsFor(app.channel)) {
    if (e.thread_ts) {
      const root = threadRootOf(app.channel, e.thread_ts);
      threadEphemerals[root] = (threadEphemerals[root] || 0) + 1;
    }
  }
  const stick = { value: false };
  ctx.onImageLoad = () => {
    if (stick.value) list.scrollTop = list.scrollHeight;
  };
  stick.value = preserveScroll(
    list,
    () => {
      if (!messages.length) {
        list.replaceChildren(
          h(
            "div",
            { class: "empty-channel" },
            h("h2", null, channel && !channel.is_im ? `#${label}` : label),
            h("p", null, "This is the very beginning of the channel. Ask draftbot for images:"),
            h("p", null, h("code", null, "/draft a matte black water bottle, dramatic side light for mobile cover")),
          ),
        );
        return;
      }
      list.replaceChildren(...renderList(messages, ctx, { inThread: false, threadEphemerals }));
    },
    { toBottom: switched },
  );
}

function renderList(items, ctx, opts) {
  const nodes = [];
  let previous = null;
  let day = null;
  for (const item of items) {
    const date = tsDate(item.message.ts);
    const thisDay = date.toDateString();
    if (!opts.inThread && thisDay !== day) {
      nodes.push(h("div", { class: "day-divider" }, h("span", null, formatDay(date))));
      previous = null;
    }
    day = thisDay;
    const author = authorKey(item.message);
    const compact =
      previous &&
      !item.ephemeral &&
      !previous.ephemeral &&
      authorKey(previous.message) === author &&
      !previous.message.reply_count &&
      parseFloat(item.message.ts) - parseFloat(previous.message.ts) < 300 &&
      item.message.subtype !== "tombstone";
    nodes.push(renderMessage(item.message, ctx, { ...opts, ephemeral: item.ephemeral, compact }));
    previous = item;
  }
  return nodes;
}

function authorKey(message) {
  return message.bot_id ? `bot:${message.bot_id}` : message.user || "";
}

function renderMessage(message, ctx, opts) {
  const snap = app.snap;
  const ephemeral = !!opts.ephemeral;
  const isBot = !!message.bot_id || ephemeral;
  const user = isBot ? ctx.users[snap.bot.user_id] : ctx.users[message.user];
  const name = isBot ? (message.bot_profile && message.bot_profile.name) || snap.bot.name : userName(ctx, message.user);
  const date = tsDate(message.ts);
  const channel = ephemeral ? message.channel : app.channel;
  const ref = { channel, ts: message.ts, ephemeral };
  const imageMeta = imageMetaOf(message);
  const tier = imageMeta && imageMeta.tier ? String(imageMeta.tier) : null;
  const tierLabel = tier ? `${tier}${imageMeta.number != null ? ` · #${imageMeta.number}` : ""}` : null;

  const body = h("div", { class: "message-body" });
  if (ephemeral) {
    body.appendChild(
      h(
        "div",
        { class: "ephemeral-note" },
        h("span", { class: "eye", "aria-hidden": "true" }, "👁"),
        "Only visible to you",
        h("button", { type: "button", class: "dismiss", onclick: () => dismiss(message.ts) }, "Dismiss"),
      ),
    );
  }
  if (!opts.compact) {
    body.appendChild(
      h(
        "div",
        { class: "message-header" },
        h("span", { class: "author" }, name),
        isBot ? h("span", { class: "app-badge" }, "APP") : null,
        h("span", { class: "time", title: date.toLocaleString() }, formatTime(date)),
      ),
    );
  }
  const content = h("div", { class: "message-text" });
  if (message.subtype === "tombstone") content.appendChild(h("div", null, "This message was deleted."));
  else if (Array.isArray(message.blocks) && message.blocks.length) content.appendChild(renderBlocks(message.blocks, ctx, ref, { tier: tierLabel }));
  else if (message.text) content.appendChild(h("div", { class: "mrkdwn" }, renderMrkdwn(message.text, ctx)));
  if (message.edited) content.appendChild(h("span", { class: "edited" }, " (edited)"));
  body.appendChild(content);
  for (const attachment of message.attachments || []) body.appendChild(renderAttachment(attachment, ctx, ref));
  if (Array.isArray(message.files) && message.files.length) {
    body.appendChild(
      h(
        "div",
        { class: "files" },
        message.files.map((f) => {
          const file = ctx.files[f.id] || f;
          if ((file.mimetype || "").startsWith("image/") && file.playground_url) {
            return thumbnail({ url: file.playground_url, file, alt: file.alt_txt || file.title, title: file.title || file.name, tier: tierLabel }, ctx);
          }
          return h(
            "a",
            { class: "file-chip", href: file.playground_url || null, target: "_blank", rel: "noopener" },
            h("span", { class: "file-icon" }, "📄"),
            h("span", null, h("div", null, file.title || file.name), h("div", { class: "file-meta" }, [file.pretty_type, formatBytes(file.size)].filter(Boolean).join(" · "))),
          );
        }),
      ),
    );
  }
  if (!ephemeral) {
    const reactions = renderReactions(message, ref, ctx);
    if (reactions) body.appendChild(reactions);
  }
  const footer = h("div", { class: "message-footer" });
  if (!opts.inThread && !ephemeral && message.reply_count) {
    footer.appendChild(renderRepliesBar(message, ctx, opts.threadEphemerals ? opts.threadEphemerals[message.ts] : 0));
  }
  const draftId = draftIdOf(message);
  const isParent = message.metadata && message.metadata.event_type === "draftbot_draft";
  if (isParent && draftId !== null) {
    footer.appendChild(h("a", { class: "audit-chip", href: `/audit?draft=${encodeURIComponent(draftId)}`, testid: "audit-link" }, `📜 Audit trail · draft #${draftId}`));
  }
  if (footer.childNodes.length) body.appendChild(footer);

  const gutter = h(
    "div",
    { class: "message-gutter" },
    opts.compact ? h("span", { class: "gutter-time", title: date.toLocaleString() }, formatTime(date).replace(/\s?[AP]M$/i, "")) : avatar(user),
  );
  const classes = ["message"];
  if (opts.compact) classes.push("compact");
  if (ephemeral) classes.push("ephemeral");
  if (message.subtype === "tombstone") classes.push("tombstone");
  const el = h(
    "div",
    {
      class: classes.join(" "),
      testid: ephemeral ? "ephemeral" : "message",
      "data-ts": message.ts,
      "data-channel": channel,
      "data-draft-id": draftId ?? null,
      "data-user": isBot ? snap.bot.user_id : message.user || null,
    },
    gutter,
    body,
  );
  if (!ephemeral && message.subtype !== "tombstone") el.appendChild(renderToolbar(message, ref, opts));
  return el;
}

function renderAttachment(attachment, ctx, ref) {
  const color = attachment.color ? (/^[0-9a-f]{6}$/i.test(attachment.color) ? "#" + attachment.color : { good: "#2eb67d", warning: "#ecb22e", danger: "#e01e5a" }[attachment.color] || attachment.color) : null;
  const bar = h("div", { class: "attachment-bar" });
  if (color && /^#?[0-9a-z]+$/i.test(color)) bar.style.background = color;
  return h(
    "div",
    { class: "attachment" },
    bar,
    h(
      "div",
      { class: "attachment-body" },
      attachment.pretext ? h("div", { class: "mrkdwn" }, renderMrkdwn(attachment.pretext, ctx)) : null,
      attachment.title ? h("div", { class: "attachment-title" }, decodeEntities(attachment.title)) : null,
      attachment.text ? h("div", { class: "mrkdwn" }, renderMrkdwn(attachment.text, ctx)) : null,
      Array.isArray(attachment.blocks) ? renderBlocks(attachment.blocks, ctx, ref) : null,
      Array.isArray(attachment.fields) && attachment.fields.length
        ? h("div", { class: "bk-fields" }, attachment.fields.map((f) => h("div", null, h("b", null, decodeEntities(f.title || "")), h("div", { class: "mrkdwn" }, renderMrkdwn(f.value || "", ctx)))))
        : null,
    ),
  );
}

function renderRepliesBar(message, ctx, privateCount) {
  const replyUsers = (message.reply_users || []).slice(0, 4).map((id) => avatar(ctx.users[id], "xs"));
  const last = message.latest_reply ? tsDate(message.latest_reply) : null;
  const n = message.reply_count;
  return h(
    "button",
    { type: "button", class: "replies", testid: "open-thread", "data-ts": message.ts, onclick: () => openThread(message.ts) },
    h("span", { class: "stack" }, replyUsers),
    h("span", { class: "count" }, `${n} ${n === 1 ? "reply" : "replies"}`),
    privateCount ? h("span", { class: "private-note" }, `· ${privateCount} only visible to you`) : null,
    last ? h("span", { class: "last" }, `Last reply ${formatDay(last).toLowerCase() === "today" ? "today" : formatDay(last)} at ${formatTime(last)}`) : null,
    h("span", { class: "view" }, "View thread"),
  );
}

function renderToolbar(message, ref, opts) {
  const tools = h("div", { class: "message-actions" });
  tools.appendChild(
    h(
      "button",
      {
        type: "button",
        class: "tool",
        testid: "add-reaction",
        title: "Add reaction",
        "aria-label": "Add reaction",
        onclick: (e) => openPicker(e.currentTarget, ref, message),
      },
      h("span", { "aria-hidden": "true" }, "☺"),
      h("span", { class: "tool-label" }, "+"),
    ),
  );
  tools.appendChild(
    h(
      "button",
      {
        type: "button",
        class: "tool",
        testid: "message-actions",
        "data-ts": message.ts,
        title: "More actions",
        "aria-label": "More actions",
        "aria-haspopup": "menu",
        onclick: (e) => openActionsMenu(e.currentTarget, ref),
      },
      h("span", { "aria-hidden": "true" }, "⋯"),
    ),
  );
  if (!opts.inThread && !message.reply_count) {
    tools.appendChild(
      h(
        "button",
        { type: "button", class: "tool", testid: "open-thread", "data-ts": message.ts, title: "Reply in thread", onclick: () => openThread(message.ts) },
        h("span", { "aria-hidden": "true" }, "💬"),
        h("span", { class: "tool-label" }, "Reply in thread"),
      ),
    );
  }
  return tools;
}

function renderReactions(message, ref, ctx) {
  const reactions = message.reactions || [];
  if (!reactions.length) return null;
  return h(
    "div",
    { class: "reactions" },
    reactions.map((r) => {
      const mine = (r.users || []).includes(app.user);
      const names = (r.users || []).map((id) => (id === app.user ? "You" : userName(ctx, id)));
      return h(
        "button",
        {
          type: "button",
          class: `reaction${mine ? " mine" : ""}`,
          testid: "reaction",
          "data-name": r.name,
          "data-count": String(r.count),
          "aria-pressed": mine ? "true" : "false",
          title: `${names.join(", ")} reacted with :${r.name}:`,
          onclick: (e) => toggleReaction(ref, r.name, !mine, e.currentTarget),
        },
        emojiNode(r.name),
        h("span", { class: "n" }, String(r.count)),
      );
    }),
    h(
      "button",
      { type: "button", class: "reaction add", title: "Add reaction", "aria-label": "Add reaction", onclick: (e) => openPicker(e.currentTarget, ref, message) },
      "☺+",
    ),
  );
}

function renderThread(ctx) {
  const pane = document.getElementById("thread");
  const list = document.getElementById("thread-messages");
  if (!app.thread) {
    pane.hidden = true;
    list.dataset.thread = "";
    return;
  }
  const snap = app.snap;
  const parent = (snap.messages[app.channel] || []).find((m) => m.ts === app.thread);
  if (!parent) {
    closeThread();
    return;
  }
  pane.hidden = false;
  pane.dataset.ts = app.thread;
  const channel = ctx.channels[app.channel];
  document.getElementById("thread-channel").textContent = channel ? (channel.is_im ? snap.bot.name : `#${channel.name}`) : "";
  const replies = (snap.threads[app.channel] || {})[app.thread] || [];
  const items = replies.map((m) => ({ message: m }));
  for (const e of ephemeralsFor(app.channel)) {
    if (e.thread_ts && threadRootOf(app.channel, e.thread_ts) === app.thread) items.push({ message: e, ephemeral: true });
  }
  items.sort((a, b) => tsCompare(a.message.ts, b.message.ts));
  const switched = list.dataset.thread !== app.thread;
  list.dataset.thread = app.thread;
  const stick = { value: false };
  const threadCtx = { ...ctx, onImageLoad: () => stick.value && (list.scrollTop = list.scrollHeight) };
  stick.value = preserveScroll(
    list,
    () => {
      const nodes = [renderMessage(parent, threadCtx, { inThread: true })];
      if (replies.length) nodes.push(h("div", { class: "thread-count" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`));
      nodes.push(...renderList(items, threadCtx, { inThread: true }));
      list.replaceChildren(...nodes);
    },
    { toBottom: switched },
  );
}

function openThread(ts) {
  app.thread = ts;
  setHash();
  render();
  document.getElementById("thread-composer").focus({ preventScroll: true });
}

function closeThread() {
  app.thread = null;
  setHash();
  if (app.snap) render();
}

function setHash() {
  const hash = app.home ? "#/home" : `#/${app.channel || ""}${app.thread ? "/" + app.thread : ""}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function readHash() {
  const [channel, thread] = location.hash.replace(/^#\/?/, "").split("/");
  app.home = channel === "home";
  if (app.home) {
    app.thread = null;
    return;
  }
  app.homeOpenedFor = null;
  if (channel) app.channel = decodeURIComponent(channel);
  app.thread = thread ? decodeURIComponent(thread) : null;
}

function dismiss(ts) {
  app.dismissed.add(ts);
  sessionStorage.setItem(DISMISSED, JSON.stringify([...app.dismissed]));
  render();
}

// ----------------------------------------------------------------------------------------- reactions

function closePicker() {
  if (!app.picker) return;
  app.picker.remove();
  app.picker = null;
}

function openPicker(anchor, ref, message) {
  closePicker();
  const existing = new Set((message.reactions || []).filter((r) => (r.users || []).includes(app.user)).map((r) => r.name));
  const picker = h(
    "div",
    { class: "picker", testid: "emoji-picker", role: "menu" },
    PICKER.map(([name, glyph]) =>
      h(
        "button",
        {
          type: "button",
          testid: "emoji-option",
          "data-name": name,
          title: `:${name}:`,
          "aria-label": name,
          role: "menuitem",
          onclick: () => {
            closePicker();
            toggleReaction(ref, name, !existing.has(name));
          },
        },
        emojiNode(name),
      ),
    ),
  );
  document.body.appendChild(picker);
  const rect = anchor.getBoundingClientRect();
  const width = picker.offsetWidth;
  const height = picker.offsetHeight;
  let left = Math.min(window.innerWidth - width - 8, Math.max(8, rect.right - width));
  let top = rect.top - height - 6;
  if (top < 8) top = rect.bottom + 6;
  picker.style.left = `${left}px`;
  picker.style.top = `${top}px`;
  app.picker = picker;
}

function placeMenu(menu, anchor) {
  document.body.appendChild(menu);
  const rect = anchor.getBoundingClientRect();
  const left = Math.min(window.innerWidth - menu.offsetWidth - 8, Math.max(8, rect.right - menu.offsetWidth));
  let top = rect.bottom + 6;
  if (top + menu.offsetHeight > window.innerHeight - 8) top = Math.max(8, rect.top - menu.offsetHeight - 6);
  menu.style.left = `${left}px`;
  menu.style.top = `${top}px`;
  app.picker = menu;
}

// "More actions" on a message: the app's message shortcuts, as Slack lists them.
function openActionsMenu(anchor, ref) {
  closePicker();
  const shortcuts = (app.snap && app.snap.shortcuts) || [];
  const appName = app.snap ? app.snap.bot.name : "app";
  const items = shortcuts.map((shortcut) =>
    h(
      "button",
      {
        type: "button",
        role: "menuitem",
        testid: "shortcut",
        "data-callback-id": shortcut.callback_id,
        title: shortcut.description || shortcut.name,
        onclick: () => {
          closePicker();
          runShortcut(ref, shortcut);
        },
      },
      shortcut.name,
      h("span", { class: "menu-app" }, appName),
    ),
  );
  const menu = h(
    "div",
    { class: "actions-menu", testid: "message-actions-menu", role: "menu" },
    h("div", { class: "menu-heading" }, "Message shortcuts"),
    items.length ? items : h("div", { class: "menu-empty" }, "This app has no message shortcuts."),
  );
  placeMenu(menu, anchor);
}

async function runShortcut(ref, shortcut) {
  try {
    const result = await api("/playground/act/shortcut", { user: app.user, channel: ref.channel, ts: ref.ts, callback_id: shortcut.callback_id });
    if (!result.ok) toast(`${shortcut.name} failed: ${app.snap ? app.snap.bot.name : "the app"} answered HTTP ${result.status}`, "error");
  } catch (error) {
    toast(`Could not run ${shortcut.name}: ${error.message}`, "error");
  }
}

// ----------------------------------------------------------------------------------------- attaching

function attachedFile() {
  const input = document.getElementById("attach");
  return input && input.files && input.files.length ? input.files[0] : null;
}

function showAttachment() {
  const file = attachedFile();
  document.getElementById("attach-chip").hidden = !file;
  document.getElementById("attach-name").textContent = file ? `${file.name} · ${formatBytes(file.size)}` : "";
}

function clearAttachment() {
  document.getElementById("attach").value = "";
  showAttachment();
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error || new Error("could not read the file"));
    reader.readAsDataURL(file);
  });
}

async function toggleReaction(ref, name, on, button) {
  if (button) button.disabled = true;
  try {
    await api("/playground/act/reaction", { user: app.user, channel: ref.channel, ts: ref.ts, name, on });
  } catch (error) {
    toast(`Could not ${on ? "add" : "remove"} :${name}: — ${error.message}`, "error");
    if (button) button.disabled = false;
  }
}

// ------------------------------------------------------------------------------------------- buttons

async function clickButton(ref, element, block, button) {
  if (element.url && safeUrl(element.url)) window.open(safeUrl(element.url), "_blank", "noopener");
  await press(`${ref.ts}|${element.action_id}`, element, button, "/playground/act/button", {
    channel: ref.channel,
    ts: ref.ts,
    block_id: block.block_id ?? null,
  });
}

// One press (a button or a menu in a message or a view): busy while it is sent, any failure a toast.
async function press(key, element, button, path, where) {
  if (app.busy.has(key)) return;
  app.busy.add(key);
  button.disabled = true;
  if (button.tagName !== "SELECT") button.prepend(h("span", { class: "spinner", "aria-hidden": "true" })); // a menu can't hold one
  try {
    const result = await api(path, { user: app.user, action_id: element.action_id, value: element.value ?? null, ...where });
    if (!result.ok) toast(`${app.snap.bot.name} answered HTTP ${result.status} to “${plainString(element.text)}”`, "error");
  } catch (error) {
    toast(`“${plainString(element.text)}” failed: ${error.message}`, "error");
  } finally {
    app.busy.delete(key);
    render();
  }
}

// ------------------------------------------------------------------------------------------ the Home

/** The app's Home tab: opening it sends app_home_opened (Events API); the bot publishes it (views.publish). */
function openHome(e) {
  if (e) e.preventDefault();
  app.home = true;
  app.thread = null;
  setHash();
  if (app.snap) render();
}

function renderHome(ctx) {
  const snap = app.snap;
  if (app.homeOpenedFor !== app.user) {
    app.homeOpenedFor = app.user;
    api("/playground/act/home", { user: app.user }).catch((error) => toast(`Opening the Home failed: ${error.message}`, "error"));
  }
  document.getElementById("channel-name").textContent = `${snap.bot.name} · Home`;
  document.getElementById("channel-topic").textContent = "";
  document.getElementById("channel-members").replaceChildren();
  document.getElementById("composer-form").hidden = true;
  const list = document.getElementById("messages");
  list.dataset.channel = "home";
  const view = snap.home;
  const homeCtx = { ...ctx, onButton: clickHomeButton };
  preserveScroll(list, () =>
    list.replaceChildren(
      view
        ? h("div", { class: "home-tab", testid: "home", "data-view-id": view.id }, renderBlocks(view.blocks, homeCtx, { view: view.id, ts: view.id, channel: null }))
        : h("div", { class: "empty-channel", testid: "home-empty" }, h("p", null, `Opening ${snap.bot.name}'s Home…`)),
    ),
  );
}

async function clickHomeButton(ref, element, block, button) {
  const key = `${ref.ts}|${element.action_id}|${element.value ?? ""}`;
  await press(key, element, button, "/playground/act/home_button", { view_id: ref.view });
}

// -------------------------------------------------------------------------------------------- modals

function currentModal() {
  const views = (app.snap.views || []).filter(
    (v) => v.type === "modal" && (!v.user_id || v.user_id === app.user) && !app.closing.has(v.id),
  );
  return views.length ? views[views.length - 1] : null;
}

function renderModal(ctx) {
  const root = document.getElementById("modal-root");
  const view = currentModal();
  const key = view ? `${view.id}:${view.hash}:${app.user}` : null;
  if (key === app.modalKey) return;
  const previousValues = app.modalKey && root.firstChild ? collectValues(root) : {};
  const sameView = view && app.modalKey && app.modalKey.startsWith(view.id + ":");
  app.modalKey = key;
  if (!view) {
    root.replaceChildren();
    app.modalErrors = {};
    return;
  }
  const values = sameView ? previousValues : (view.state && view.state.values) || {};
  const bodyEl = h("div", { class: "modal-body" });
  const errorEl = h("div", { class: "modal-error", testid: "modal-error", hidden: true });
  bodyEl.appendChild(errorEl);
  bodyEl.appendChild(renderBlocks(view.blocks || [], ctx, null, { values }));
  const submit = view.submit
    ? h("button", { type: "submit", class: "bk-button primary", testid: "modal-submit" }, renderPlain(view.submit))
    : null;
  const close = h(
    "button",
    { type: "button", class: "bk-button", testid: "modal-close", onclick: () => closeModal(view) },
    view.close ? renderPlain(view.close) : "Cancel",
  );
  const form = h(
    "form",
    { class: "modal", testid: "modal", role: "dialog", "aria-modal": "true", "data-view-id": view.id, "data-callback-id": view.callback_id || "" },
    h(
      "div",
      { class: "modal-header" },
      avatar(ctx.users[app.snap.bot.user_id]),
      h("div", { class: "modal-title" }, renderPlain(view.title)),
      h("button", { type: "button", class: "icon-button", "aria-label": "Close", onclick: () => closeModal(view) }, "✕"),
    ),
    bodyEl,
    h("div", { class: "modal-footer" }, close, submit),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitModal(view, form, submit, errorEl);
  });
  const backdrop = h("div", { class: "modal-backdrop" }, form);
  backdrop.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeModal(view);
  });
  root.replaceChildren(backdrop);
  if (sameView) showFieldErrors(form, app.modalErrors[view.id] || {});
  else app.modalErrors = {};
  const first = form.querySelector("input, textarea, select");
  if (first && !sameView) first.focus();
}

function showFieldErrors(form, errors) {
  for (const el of form.querySelectorAll(".bk-input")) {
    const holder = el.closest("[data-block-id]");
    const message = holder ? errors[holder.dataset.blockId] : null;
    const errorEl = el.querySelector(".bk-input-error");
    el.classList.toggle("has-error", !!message);
    errorEl.hidden = !message;
    errorEl.textContent = message ? String(message) : "";
  }
}

/** What Slack's client checks before it sends a submission: required fields and min_length. */
function clientErrors(form, values) {
  const errors = {};
  for (const el of form.querySelectorAll(".bk-input[data-block-id]")) {
    const control = el.querySelector("[data-type]");
    if (!control || control.dataset.type === "unsupported") continue;
    const value = (values[el.dataset.blockId] || {})[control.dataset.actionId] || {};
    const empty =
      "value" in value
        ? value.value === null || String(value.value).trim() === ""
        : "selected_option" in value
          ? !value.selected_option
          : !(value.selected_options || []).length;
    const min = Number(el.dataset.minLength || 0);
    if (empty && !el.dataset.optional) errors[el.dataset.blockId] = "Please complete this required field.";
    else if (!empty && min && "value" in value && String(value.value).length < min) {
      errors[el.dataset.blockId] = `Please enter at least ${min} characters.`;
    }
  }
  return errors;
}

async function submitModal(view, form, submit, errorEl) {
  const values = collectValues(form);
  const local = clientErrors(form, values);
  if (Object.keys(local).length) {
    app.modalErrors[view.id] = local;
    showFieldErrors(form, local);
    return;
  }
  if (submit) submit.disabled = true;
  errorEl.hidden = true;
  try {
    const result = await api("/playground/act/view", { user: app.user, view_id: view.id, values });
    if (result.errors) {
      app.modalErrors[view.id] = result.errors;
      showFieldErrors(form, result.errors);
      const unknown = Object.keys(result.errors).filter((k) => !form.querySelector(`[data-block-id="${CSS.escape(k)}"]`));
      if (unknown.length) {
        errorEl.textContent = unknown.map((k) => `${k}: ${result.errors[k]}`).join("\n");
        errorEl.hidden = false;
      }
    } else if (!result.ok) {
      errorEl.textContent = `${app.snap.bot.name} answered HTTP ${result.status}. The form stays open.`;
      errorEl.hidden = false;
    } else {
      showFieldErrors(form, {});
    }
  } catch (error) {
    errorEl.textContent = error.message;
    errorEl.hidden = false;
  } finally {
    if (submit) submit.disabled = false;
  }
}

async function closeModal(view) {
  app.closing.add(view.id);
  if (app.snap) renderModal(ctxFor());
  try {
    await api("/playground/act/close_view", { user: app.user, view_id: view.id });
  } catch (error) {
    if (error.status !== 400) toast(`Could not close the dialog: ${error.message}`, "error");
  }
}

// ------------------------------------------------------------------------------------------ composer

function autoGrow(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(220, textarea.scrollHeight)}px`;
}

async function send(textarea, threadTs) {
  const text = textarea.value.trim();
  const file = textarea.id === "composer" ? attachedFile() : null;
  if ((!text && !file) || !app.user || !app.channel) return;
  textarea.disabled = true;
  try {
    if (file) {
      const data = await readBase64(file);
      await api("/playground/act/upload", { user: app.user, channel: app.channel, filename: file.name || "file", data, text });
      clearAttachment();
    } else if (text.startsWith("/")) {
      const result = await api("/playground/act/command", { user: app.user, channel: app.channel, text });
      if (!result.ok) {
        toast(`${result.command} failed: ${app.snap ? app.snap.bot.name : "the app"} answered HTTP ${result.status}`, "error");
        return;
      }
    } else {
      await api("/playground/act/message", { user: app.user, channel: app.channel, text, thread_ts: threadTs || null });
    }
    textarea.value = "";
    autoGrow(textarea);
    updateHint();
  } catch (error) {
    toast(error.status === 503 ? error.message : `Could not send: ${error.message}`, "error");
  } finally {
    textarea.disabled = false;
    textarea.focus();
  }
}

function updateHint() {
  const composer = document.getElementById("composer");
  const value = composer.value;
  const hint = document.getElementById("command-hint");
  hint.hidden = !(value.startsWith("/") && !value.includes(" ") && "/draft".startsWith(value)) || document.activeElement !== composer;
}

function wireComposer(form, textarea, threadTs) {
  textarea.addEventListener("input", () => {
    autoGrow(textarea);
    updateHint();
  });
  textarea.addEventListener("focus", updateHint);
  textarea.addEventListener("blur", () => setTimeout(updateHint, 100));
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send(textarea, threadTs());
    } else if (e.key === "Tab" && textarea.value.startsWith("/") && "/draft".startsWith(textarea.value)) {
      e.preventDefault();
      textarea.value = "/draft ";
      updateHint();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    send(textarea, threadTs());
  });
}

// ----------------------------------------------------------------------------------------------- boot

function boot() {
  document.documentElement.classList.toggle("no-emoji", !canDrawEmoji());
  readHash();
  wireComposer(document.getElementById("composer-form"), document.getElementById("composer"), () => null);
  wireComposer(document.getElementById("thread-form"), document.getElementById("thread-composer"), () => app.thread);
  document.getElementById("thread-close").addEventListener("click", closeThread);
  document.getElementById("attach").addEventListener("change", showAttachment);
  document.getElementById("attach-clear").addEventListener("click", clearAttachment);
  document.getElementById("user-switcher").addEventListener("change", (e) => {
    app.user = e.target.value;
    localStorage.setItem(STORAGE_USER, app.user);
    app.modalKey = null;
    closePicker();
    if (app.snap) render();
    restartPoll();
  });
  document.getElementById("channel-list").addEventListener("click", navigate);
  document.getElementById("app-list").addEventListener("click", navigate);
  document.addEventListener("click", (e) => {
    if (app.picker && !app.picker.contains(e.target) && !e.target.closest("[data-testid=add-reaction], [data-testid=message-actions], .reaction.add")) closePicker();
    const permalink = threadOfPermalink(e.target.closest("a[href]"));
    if (permalink) {
      e.preventDefault(); // a chat.getPermalink link (the Home, /draft history): open its thread here
      Object.assign(app, { home: false, homeOpenedFor: null }, permalink);
      setHash();
      render();
      return;
    }
    const channelLink = e.target.closest(".mention.channel-link");
    if (channelLink && app.snap && app.snap.channels.some((c) => c.id === channelLink.dataset.channel)) {
      app.channel = channelLink.dataset.channel;
      app.thread = null;
      setHash();
      render();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (app.picker) closePicker();
    else if (!lightbox && !document.querySelector(".modal-backdrop") && app.thread) closeThread();
  });
  window.addEventListener("hashchange", () => {
    readHash();
    if (app.snap) render();
  });
  poll();
}

/** {channel, thread} of a link to a message in this workspace (chat.getPermalink's shape), or null. */
function threadOfPermalink(link) {
  const match = link && app.snap && /^https:\/\/[^/]+\.slack\.com\/archives\/([A-Z0-9]+)\/p(\d+)(\d{6})/.exec(link.href);
  if (!match || !app.snap.channels.some((c) => c.id === match[1])) return null;
  return { channel: match[1], thread: `${match[2]}.${match[3]}` };
}

function navigate(e) {
  const link = e.target.closest("a[data-channel]");
  if (!link) return;
  e.preventDefault();
  if (link.dataset.channel !== app.channel) app.thread = null;
  app.home = false;
  app.homeOpenedFor = null;
  app.channel = link.dataset.channel;
  setHash();
  render();
}

if (document.body && document.body.dataset.page === "channel") boot();
