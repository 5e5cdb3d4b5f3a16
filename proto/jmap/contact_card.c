/* contact_card: ContactCard/get and ContactCard/changes (RFC 9610 §3),
 * and what the contacts methods share (contact_card.h).
 *
 * The state is the account's contacts modseq (store_contacts_modseq),
 * which every change of a card bumps, with the highest card id at that
 * modseq: "c<modseq>-<id>". Ids only grow (a new card, or the tombstone a
 * move leaves, is a new row), so /changes needs no memory of past states:
 * every card and tombstone above the modseq changed; a live one with an
 * id above the old highest was created since, else updated; a tombstone
 * at or below it was destroyed (above: made and removed in between, or
 * the trace a move leaves in the old book: nothing to tell). A state from
 * before purged tombstones (store_contacts_oldest_modseq) gets
 * cannotCalculateChanges, and so do more changes than maxChanges (RFC
 * 8620 §5.2 allows it: the client refetches).
 *
 * The highest id is found from the last one known per account (a small
 * cache), by reading only the changes above the modseq it was known at. */
#include "proto/jmap/contact_card.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contacts/jscontact.h"
#include "store/contacts.h"
#include "store/store.h"

#define MAXID_CACHE 64

static struct {
	int64_t account_id, modseq, max_id;
} maxid_cache[MAXID_CACHE];

/* ---- books made on first use ---- */

struct ensure_job {
	struct jmap_call *c;
	void (*again)(struct jmap_call *c);
	int64_t account_id;
};

static int ensure_run(struct store_tx *tx, void *arg)
{
	struct ensure_job *j = arg;
	return store_addressbook_ensure(tx, j->account_id);
}

static void ensure_done(void *arg, int status)
{
	struct ensure_job *j = arg;
	struct jmap_call *c = j->c;
	void (*again)(struct jmap_call * c) = j->again;
	free(j);
	if (status < 0)
		jmap_error(c, "serverFail", "the address books could not be made");
	else
		again(c);
}

static int count_cb(void *ud, const struct store_addressbook *b)
{
	(void)b;
	++*(int *)ud;
	return 0;
}

bool jmap_contacts_ready(struct jmap_call *c, void (*again)(struct jmap_call *c))
{
	int n = 0;
	int rc =
	    store_addressbook_list(store_reader(c->acct->store), c->acct->account_id, count_cb, &n);
	if (rc < 0) {
		jmap_error(c, "serverFail", "the address books could not be read");
		return false;
	}
	if (n > 0)
		return true;
	struct ensure_job *j = calloc(1, sizeof *j);
	if (!j) {
		jmap_error(c, "serverFail", "out of memory");
		return false;
	}
	j->c = c;
	j->again = again;
	j->account_id = c->acct->account_id;
	if (store_submit(c->acct->store, ensure_run, ensure_done, j) < 0) {
		free(j);
		jmap_error(c, "serverFail", "the store is not taking jobs");
	}
	return false;
}

/* ---- state ---- */

static int max_cb(void *ud, const struct store_card *sc)
{
	int64_t *m = ud;
	if (sc->id > *m)
		*m = sc->id;
	return 0;
}

int jmap_card_state(const struct jmap_account *acct, char out[JMAP_CARD_STATE_MAX])
{
	struct store_rd *rd = store_reader(acct->store);
	bool begun = store_read_begin(rd);
	int64_t modseq = store_contacts_modseq(rd, acct->account_id);
	int rc = modseq < 0 ? (int)modseq : 0;
	size_t slot = (size_t)((uint64_t)acct->account_id % MAXID_CACHE);
	int64_t since = 0, max_id = 0;
	if (maxid_cache[slot].account_id == acct->account_id &&
	    maxid_cache[slot].modseq <= modseq) {
		since = maxid_cache[slot].modseq;
		max_id = maxid_cache[slot].max_id;
	}
	if (rc == 0 && since < modseq)
		rc = store_card_changes(rd, acct->account_id, 0, since, max_cb, &max_id);
	store_read_end(rd, begun);
	if (rc < 0)
		return rc;
	maxid_cache[slot].account_id = acct->account_id;
	maxid_cache[slot].modseq = modseq;
	maxid_cache[slot].max_id = max_id;
	snprintf(out, JMAP_CARD_STATE_MAX, "c%" PRId64 "-%" PRId64, modseq, max_id);
	return 0;
}

bool jmap_card_state_parse(const char *s, int64_t *modseq, int64_t *max_id)
{
	char tail;
	if (!s || s[0] != 'c' || strlen(s) >= JMAP_CARD_STATE_MAX)
		return false;
	if (sscanf(s + 1, "%" SCNd64 "-%" SCNd64 "%c", modseq, max_id, &tail) != 2)
		return false;
	return *modseq >= 0 && *max_id >= 0;
}

/* ---- a card as JSON ---- */

json_t *jmap_card_json(const struct store_card *sc)
{
	json_t *card = sc->vcard ? jscontact_from_text(sc->vcard, sc->len) : NULL;
	if (!card) /* a stored vCard that no longer reads: what is known */
		card = json_pack("{s:s, s:s, s:s}", "@type", "Card", "version", "1.0", "uid",
		                 sc->uid ? sc->uid : "");
	if (!card)
		return NULL;
	char id[32];
	snprintf(id, sizeof id, "C%" PRId64, sc->id);
	json_t *books = json_object();
	char book[32];
	snprintf(book, sizeof book, "D%" PRId64, sc->addressbook_id);
	if (!books || json_object_set_new(books, book, json_true()) < 0 ||
	    json_object_set_new(card, "addressBookIds", books) < 0 ||
	    json_object_set_new(card, "id", json_string(id)) < 0) {
		json_decref(card);
		return NULL;
	}
	return card;
}

/* ---- ContactCard/get ---- */

struct get {
	json_t *list, *props;
	bool oom;
};

/* The card with only the asked properties (id always). */
static int get_cb(void *ud, const struct store_card *sc)
{
	struct get *g = ud;
	json_t *card = jmap_card_json(sc);
	if (!card) {
		g->oom = true;
		return -ENOMEM;
	}
	if (g->props) {
		json_t *o = json_object();
		size_t i;
		json_t *p;
		json_array_foreach(g->props, i, p)
		{
			json_t *v = json_object_get(card, json_string_value(p));
			if (v)
				json_object_set(o, json_string_value(p), v);
		}
		json_object_set(o, "id", json_object_get(card, "id"));
		json_decref(card);
		card = o;
	}
	return json_array_append_new(g->list, card) < 0 ? -ENOMEM : 0;
}

void jmap_contact_card_get(struct jmap_call *c)
{
	json_t *ids, *props;
	if (!jmap_get_args(c, &ids, &props) || !jmap_contacts_ready(c, jmap_contact_card_get))
		return;
	char state[JMAP_CARD_STATE_MAX];
	struct get g = {.list = json_array(), .props = props};
	json_t *not_found = json_array();
	if (!g.list || !not_found || jmap_card_state(c->acct, state) < 0) {
		json_decref(g.list);
		json_decref(not_found);
		jmap_error(c, "serverFail", "the store could not be read");
		return;
	}
	struct store_rd *rd = store_reader(c->acct->store);
	bool begun = store_read_begin(rd);
	int rc = 0;
	if (!ids) {
		rc = store_card_list(rd, c->acct->account_id, 0, true, get_cb, &g);
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v)
		{
			const char *id = jmap_created_id(c, json_string_value(v));
			int64_t n;
			int hit =
			    id && jmap_id_parse(id, 'C', &n)
			        ? store_card_get(rd, c->acct->account_id, 0, NULL, n, get_cb, &g)
			        : 0;
			if (hit < 0) {
				rc = hit;
				break;
			}
			if (hit == 0)
				json_array_append(not_found, v);
		}
	}
	store_read_end(rd, begun);
	if (rc < 0) {
		json_decref(g.list);
		json_decref(not_found);
		jmap_error(c, "serverFail",
		           g.oom ? "out of memory" : "the store could not be read");
		return;
	}
	json_t *res =
	    json_pack("{s:O, s:s, s:o, s:o}", "accountId", json_object_get(c->args, "accountId"),
	              "state", state, "list", g.list, "notFound", not_found);
	if (res)
		jmap_reply(c, res);
	else
		jmap_error(c, "serverFail", "out of memory");
}

/* ---- ContactCard/changes ---- */

struct changes {
	int64_t max_id;
	json_t *created, *updated, *destroyed;
	size_t n;
};

static int changes_cb(void *ud, const struct store_card *sc)
{
	struct changes *ch = ud;
	char id[32];
	snprintf(id, sizeof id, "C%" PRId64, sc->id);
	json_t *into = NULL;
	if (!sc->deleted)
		into = sc->id > ch->max_id ? ch->created : ch->updated;
	else if (sc->id <= ch->max_id)
		into = ch->destroyed;
	if (!into)
		return 0;
	ch->n++;
	return json_array_append_new(into, json_string(id)) < 0 ? -ENOMEM : 0;
}

void jmap_contact_card_changes(struct jmap_call *c)
{
	const char *since;
	size_t max_changes;
	if (!jmap_changes_args(c, &since, &max_changes) ||
	    !jmap_contacts_ready(c, jmap_contact_card_changes))
		return;
	char state[JMAP_CARD_STATE_MAX];
	int64_t now_modseq, now_max, old_modseq, old_max;
	if (jmap_card_state(c->acct, state) < 0 ||
	    !jmap_card_state_parse(state, &now_modseq, &now_max)) {
		jmap_error(c, "serverFail", "the store could not be read");
		return;
	}
	struct store_rd *rd = store_reader(c->acct->store);
	if (!jmap_card_state_parse(since, &old_modseq, &old_max) || old_modseq > now_modseq ||
	    old_max > now_max ||
	    old_modseq < store_contacts_oldest_modseq(rd, c->acct->account_id)) {
		jmap_error(c, "cannotCalculateChanges", "not a state this server can start from");
		return;
	}
	struct changes ch = {.max_id = old_max,
	                     .created = json_array(),
	                     .updated = json_array(),
	                     .destroyed = json_array()};
	int rc = ch.created && ch.updated && ch.destroyed ? 0 : -ENOMEM;
	if (rc == 0)
		rc = store_card_changes(rd, c->acct->account_id, 0, old_modseq, changes_cb, &ch);
	if (rc < 0 || ch.n > max_changes) {
		json_decref(ch.created);
		json_decref(ch.updated);
		json_decref(ch.destroyed);
		if (rc < 0)
			jmap_error(c, "serverFail", "the store could not be read");
		else
			jmap_error(c, "cannotCalculateChanges",
			           "more changes than maxChanges; refetch");
		return;
	}
	json_t *res = json_pack("{s:O, s:s, s:s, s:b, s:o, s:o, s:o}", "accountId",
	                        json_object_get(c->args, "accountId"), "oldState", since,
	                        "newState", state, "hasMoreChanges", 0, "created", ch.created,
	                        "updated", ch.updated, "destroyed", ch.destroyed);
	if (res)
		jmap_reply(c, res);
	else
		jmap_error(c, "serverFail", "out of memory");
}
