// actions: what the buttons and shortcuts do to a message (Email/set).
//
// Why one place: the toolbar, the keyboard and the list all flag, move and
// delete the same way, and each of these is one Email/set whose per-id
// result ("notUpdated", "notDestroyed") has to be turned into words.

/**
 * @typedef {{ id: string, mailboxIds: Record<string, boolean>, keywords: Record<string, boolean> }} EmailRef
 */

/**
 * @param {import('./jmap.js').JmapClient} client
 * @param {Record<string, any>} args update/destroy for Email/set
 */
export async function emailSet(client, args) {
  const r = await client.call('Email/set', args);
  const bad = r.notUpdated || r.notDestroyed || r.notCreated;
  if (bad && Object.keys(bad).length) {
    const e = /** @type {any} */ (Object.values(bad)[0]);
    throw new Error(e.description || `The server refused: ${e.type}.`);
  }
  return r;
}

/** @param {import('./jmap.js').JmapClient} client @param {string} id @param {string} keyword @param {boolean} on */
export function setKeyword(client, id, keyword, on) {
  return emailSet(client, { update: { [id]: { [`keywords/${keyword}`]: on ? true : null } } });
}

/** Move into exactly one mailbox. @param {import('./jmap.js').JmapClient} client @param {string} id @param {string} mailboxId */
export function moveTo(client, id, mailboxId) {
  return emailSet(client, { update: { [id]: { mailboxIds: { [mailboxId]: true } } } });
}

/**
 * Delete: into Trash, or for good when it is there already (or there is no Trash).
 * @param {import('./jmap.js').JmapClient} client @param {EmailRef} email @param {string | undefined} trashId
 * @returns {Promise<'moved' | 'destroyed'>}
 */
export async function remove(client, email, trashId) {
  if (trashId && !email.mailboxIds[trashId]) {
    await moveTo(client, email.id, trashId);
    return 'moved';
  }
  await emailSet(client, { destroy: [email.id] });
  return 'destroyed';
}

/** Mark as junk: the $junk keyword (RFC 8621 4.1.1) and into the Junk mailbox. */
export function markJunk(/** @type {import('./jmap.js').JmapClient} */ client, /** @type {string} */ id, /** @type {string} */ junkId) {
  return emailSet(client, { update: { [id]: { mailboxIds: { [junkId]: true }, 'keywords/$junk': true, 'keywords/$notjunk': null } } });
}
