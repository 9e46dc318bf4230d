// The audit page: a draft's audit trail as a table, with a gallery of its images on top.
// Rows come from /playground/audit; names, channels and images are resolved with /playground/state.

import { api, avatar, draftIdOf, formatBytes, h, imageMetaOf, openLightbox, pixelSize, userName } from "./playground.js";

const TIERS = ["1K", "2K", "4K"];
const NUMBER_KEYS = { vote: "variant", unvote: "variant", upgrade_requested: "winner" };
const TIER_OF_KIND = { vote: "1K", unvote: "1K", upgrade_requested: "1K", approved: "2K", rejected: "2K" };

function tierRank(tier) {
  const i = TIERS.indexOf(String(tier));
  return i < 0 ? TIERS.length : i;
}

function filesOfMessage(message, files) {
  const found = [];
  const visit = (blocks) => {
    for (const block of blocks || []) {
      if (!block || typeof block !== "object") continue;
      if (block.type === "image" && block.slack_file) {
        const ref = block.slack_file;
        const file = ref.id ? files[ref.id] : Object.values(files).find((f) => [f.url_private, f.permalink].includes(ref.url));
        if (file) found.push(file);
      }
      if (block.accessory && block.accessory.type === "image" && block.accessory.slack_file && files[block.accessory.slack_file.id]) {
        found.push(files[block.accessory.slack_file.id]);
      }
    }
  };
  visit(message.blocks);
  for (const attachment of message.attachments || []) visit(attachment.blocks);
  for (const f of message.files || []) if (files[f.id]) found.push(files[f.id]);
  return found;
}

/** Every message of the workspace: channel history plus thread replies, each with its channel. */
function allMessages(snap) {
  const out = [];
  for (const [channel, messages] of Object.entries(snap.messages || {})) for (const m of messages) out.push({ channel, message: m });
  for (const [channel, threads] of Object.entries(snap.threads || {})) {
    for (const replies of Object.values(threads)) for (const m of replies) out.push({ channel, message: m });
  }
  return out;
}

/** Images of one draft: {file, tier, number, channel, ts} from message metadata and from audit rows. */
function draftImages(snap, rows, draftId) {
  const files = Object.fromEntries((snap.files || []).map((f) => [f.id, f]));
  const byFile = new Map();
  const add = (file, info) => {
    if (!file || !file.playground_url) return;
    const known = byFile.get(file.id) || { file };
    for (const [k, v] of Object.entries(info)) if (v !== undefined && v !== null && known[k] == null) known[k] = v;
    byFile.set(file.id, known);
  };
  for (const { channel, message } of allMessages(snap)) {
    const meta = imageMetaOf(message);
    if (!meta || String(meta.draft_id) !== String(draftId)) continue;
    for (const file of filesOfMessage(message, files)) add(file, { tier: meta.tier, number: meta.number, channel, ts: message.ts });
  }
  for (const row of rows) {
    const d = row.details || {};
    if (d.file_id && files[d.file_id]) add(files[d.file_id], { tier: d.tier, number: d.number, channel: d.channel, ts: d.ts });
  }
  return [...byFile.values()].sort((a, b) => tierRank(a.tier) - tierRank(b.tier) || (a.number || 0) - (b.number || 0));
}

function imageForRow(row, images, files) {
  const d = row.details || {};
  if (d.file_id && files[d.file_id]) return images.find((i) => i.file.id === d.file_id) || { file: files[d.file_id], tier: d.tier, number: d.number };
  const tier = d.tier || TIER_OF_KIND[row.kind];
  const number = d.number ?? d[NUMBER_KEYS[row.kind] || "variant"];
  if (!tier || number === undefined || number === null) return null;
  return images.find((i) => String(i.tier) === String(tier) && String(i.number) === String(number)) || null;
}

function lightboxItem(image) {
  const label = [image.tier, image.number != null ? `#${image.number}` : null].filter(Boolean).join(" ");
  return { url: image.file.playground_url, file: image.file, title: image.file.title || image.file.name, tier: label || null };
}

function compact(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `[${value.map(compact).join(", ")}]`;
  return `{${Object.entries(value).map(([k, v]) => `${k}: ${compact(v)}`).join(", ")}}`;
}

function renderDetails(details, ctx) {
  const holder = h("div", { class: "details" });
  for (const [key, value] of Object.entries(details || {})) {
    let shown = compact(value);
    if (key === "channel" && ctx.channels[value]) shown = `#${ctx.channels[value].name}`;
    else if (typeof value === "string" && ctx.users[value]) shown = `@${userName(ctx, value)}`;
    else if (typeof value === "string") shown = shown.replace(/<@([A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id, label) => `@${label || userName(ctx, id)}`);
    const long = shown.length > 80;
    const el = h("span", { class: `detail${long ? " long" : ""}`, title: typeof value === "string" ? value : JSON.stringify(value) }, h("span", { class: "k" }, `${key}: `), h("span", { class: "v" }, long ? shown.slice(0, 240) + (shown.length > 240 ? "…" : "") : shown));
    if (key === "ts" && details.channel) {
      const link = h("a", { href: `/#/${encodeURIComponent(details.channel)}/${encodeURIComponent(threadRoot(ctx, details.channel, value))}`, title: "Open in the channel" }, el);
      holder.appendChild(link);
    } else holder.appendChild(el);
  }
  return holder;
}

function threadRoot(ctx, channel, ts) {
  const threads = (ctx.snap.threads || {})[channel] || {};
  for (const [parent, replies] of Object.entries(threads)) if (parent === ts || replies.some((r) => r.ts === ts)) return parent;
  return ts;
}

function actorCell(actor, ctx) {
  const user = ctx.users[actor];
  if (user) return h("span", { class: "actor", title: actor }, avatar(user, "xs"), userName(ctx, actor));
  const bot = ctx.snap.bot || {};
  if (actor === bot.name || actor === "draftbot" || actor === bot.user_id) return h("span", { class: "actor" }, avatar({ is_bot: true, id: "bot" }, "xs"), bot.name || actor, " ", h("span", { class: "app-badge" }, "APP"));
  return h("span", { class: "actor" }, actor || "—");
}

function formatAt(at) {
  const date = new Date(at);
  if (isNaN(date)) return String(at ?? "");
  return date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

async function main() {
  const params = new URLSearchParams(location.search);
  const raw = (params.get("draft") || "").trim();
  const draftId = /^\d+$/.test(raw) ? Number(raw) : null;
  document.getElementById("draft-input").value = draftId ?? "";
  const message = document.getElementById("audit-message");
  const table = document.getElementById("audit-table");
  const tbody = document.getElementById("audit-rows");
  const showMessage = (text) => {
    message.textContent = text;
    message.hidden = false;
  };

  let snap = { users: [], channels: [], files: [], messages: {}, threads: {}, bot: {} };
  try {
    snap = await api("/playground/state");
  } catch {
    /* names and images stay unresolved */
  }
  const ctx = {
    snap,
    users: Object.fromEntries((snap.users || []).map((u) => [u.id, u])),
    channels: Object.fromEntries((snap.channels || []).map((c) => [c.id, c])),
  };
  const files = Object.fromEntries((snap.files || []).map((f) => [f.id, f]));

  let rows = [];
  try {
    rows = await api(`/playground/audit${draftId !== null ? `?draft=${draftId}` : ""}`);
  } catch (error) {
    showMessage(error.message);
    table.hidden = true;
    return;
  }
  if (!Array.isArray(rows)) rows = [];

  // drafts known from the rows (or from parent messages), as quick links
  const drafts = new Set(rows.map((r) => r.draft_id).filter((d) => d !== null && d !== undefined));
  for (const { message: m } of allMessages(snap)) {
    const id = draftIdOf(m);
    if (id !== null && m.metadata && m.metadata.event_type === "draftbot_draft") drafts.add(id);
  }
  if (draftId !== null) drafts.add(draftId);
  const chips = document.getElementById("audit-drafts");
  if (drafts.size) {
    chips.replaceChildren(
      h("a", { href: "/audit", class: draftId === null ? "active" : null }, "All drafts"),
      ...[...drafts].sort((a, b) => a - b).map((d) => h("a", { href: `/audit?draft=${d}`, class: d === draftId ? "active" : null, testid: "audit-draft-link" }, `Draft #${d}`)),
    );
  }

  let images = [];
  if (draftId !== null) {
    table.classList.add("one-draft");
    const command = rows.find((r) => r.kind === "command");
    document.getElementById("audit-title").textContent = `Audit trail · draft #${draftId}`;
    document.title = `Draft #${draftId} · audit trail · draftbot playground`;
    if (command && command.details) {
      const d = command.details;
      const who = command.actor ? ` · requested by @${userName(ctx, command.actor)}` : "";
      document.getElementById("audit-subtitle").textContent = `“${d.prompt || d.text || ""}”${d.destination ? ` for ${d.destination}` : ""}${who}`;
    }
    images = draftImages(snap, rows, draftId);
    const gallery = document.getElementById("audit-gallery");
    if (images.length) {
      document.getElementById("audit-gallery-section").hidden = false;
      gallery.replaceChildren(
        ...images.map((image, index) => {
          const file = image.file;
          return h(
            "figure",
            { class: "gallery-card", style: { margin: 0 } },
            h("div", { class: "thumb-wrap" }, h("img", { src: file.playground_url, alt: file.title || file.name, testid: "audit-image", "data-file-id": file.id, onclick: () => openLightbox(images.map(lightboxItem), index) })),
            h(
              "figcaption",
              null,
              h("div", { class: "gallery-label" }, image.tier ? h("span", { class: `tier-pill t${image.tier}` }, image.tier) : null, h("b", null, image.number != null ? `Variant ${image.number}` : file.title || file.name)),
              h("div", { class: "gallery-size" }, [pixelSize(file.original_w, file.original_h), formatBytes(file.size)].filter(Boolean).join(" · ")),
            ),
          );
        }),
      );
    }
  } else {
    document.getElementById("audit-subtitle").textContent = "Every draft in this workspace, newest events last. Pick a draft to see its images.";
  }

  if (!rows.length) {
    showMessage(draftId !== null ? `No audit events for draft #${draftId} yet.` : "No audit events yet. Run /draft in the channel.");
  }
  // images per draft, so rows link to their image in the all-drafts view too
  const imagesOf = new Map();
  const imagesFor = (id) => {
    if (id === null || id === undefined) return [];
    if (draftId !== null && id === draftId) return images;
    if (!imagesOf.has(id)) imagesOf.set(id, draftImages(snap, rows.filter((r) => r.draft_id === id), id));
    return imagesOf.get(id);
  };
  tbody.replaceChildren(
    ...rows.map((row) => {
      const image = imageForRow(row, imagesFor(row.draft_id), files);
      let imageCell = null;
      if (image && image.file && image.file.playground_url) {
        const label = [image.tier, image.number != null ? `#${image.number}` : null].filter(Boolean).join(" ") || image.file.name;
        imageCell = h(
          "a",
          { class: "audit-image-link", href: image.file.playground_url, target: "_blank", rel: "noopener", testid: "audit-image-link", title: pixelSize(image.file.original_w, image.file.original_h) },
          h("img", { class: "audit-thumb", src: image.file.playground_url, alt: label }),
          label,
        );
      }
      return h(
        "tr",
        { testid: "audit-row", "data-kind": row.kind, "data-id": row.id },
        h("td", { class: "col-id" }, String(row.id ?? "")),
        h("td", { class: "col-time", title: String(row.at ?? "") }, formatAt(row.at)),
        h("td", { class: "col-draft" }, row.draft_id != null ? h("a", { href: `/audit?draft=${row.draft_id}` }, `#${row.draft_id}`) : "—"),
        h("td", null, h("span", { class: `kind k-${String(row.kind).replace(/[^a-z0-9_]/gi, "")}` }, String(row.kind ?? ""))),
        h("td", null, actorCell(row.actor, ctx)),
        h("td", null, renderDetails(row.details, ctx)),
        h("td", null, imageCell),
      );
    }),
  );
}

main();
