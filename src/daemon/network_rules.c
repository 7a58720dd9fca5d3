/* See network.h: security-group rules and port forwards, as rows; each
 * change is applied by regenerating the network's nftables table
 * (network_refresh). */
#include "daemon/network.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int exec(struct db *db, const char *sql, struct err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(db_sqlite(db), sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, -EIO, "%s: %s", db_file(db), msg ? msg : "error");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int network_rules_get(struct db *db, const char *instance, struct ingress_rule *out, size_t *n,
		      struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT protocol, port, source FROM ingress_rules WHERE instance = ?1 "
			 "ORDER BY protocol, port, source", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	*n = 0;
	while (*n < INGRESS_RULES_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ingress_rule *r = &out[(*n)++];
		db_copy_text(r->protocol, sizeof r->protocol, st, 0);
		r->port = sqlite3_column_int(st, 1);
		db_copy_text(r->source, sizeof r->source, st, 2);
	}
	sqlite3_finalize(st);
	return 0;
}

int network_rules_set(struct db *db, const struct net_ctx *c, const char *instance,
		      const struct ingress_rule *v, size_t n, struct err *e)
{
	struct nic nics[NICS_MAX];
	size_t nn = 0;
	int rc = network_nics(db, instance, nics, &nn, e);
	if (rc < 0)
		return rc;
	if (nn == 0)
		return err_set(e, -EINVAL, "instance \"%s\": is on no network, so it has no ingress "
			       "rules (launch it with --network)", instance);
	if ((rc = exec(db, "SAVEPOINT rules", e)) < 0)
		return rc;
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "DELETE FROM ingress_rules WHERE instance = ?1", &st, e)) == 0) {
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "replacing rules");
		sqlite3_finalize(st);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = db_prepare(db, "INSERT OR IGNORE INTO ingress_rules (instance, protocol, port, "
				  "source) VALUES (?1, ?2, ?3, ?4)", &st, e)) < 0)
			break;
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, v[i].protocol, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, v[i].port);
		sqlite3_bind_text(st, 4, v[i].source, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "saving a rule");
		sqlite3_finalize(st);
	}
	/* Saved only if the firewall took them: the tables (one per network
	 * the instance is on; its rules hold on each) and the rows agree. */
	for (size_t i = 0; rc == 0 && i < nn; i++)
		rc = network_refresh(db, c, nics[i].network, e);
	if (rc < 0) {
		exec(db, "ROLLBACK TO rules", NULL);
		exec(db, "RELEASE rules", NULL);
		for (size_t i = 0; i < nn; i++)
			network_refresh(db, c, nics[i].network, NULL);
		return rc;
	}
	return exec(db, "RELEASE rules", e);
}

int network_forward_add(struct db *db, const struct net_ctx *c, const struct forward *f,
			struct err *e)
{
	/* f->instance is a name, of the network's project (names are unique
	 * per project); the row holds its host key. */
	struct nic nic;
	struct network n;
	struct instance in;
	if (network_by_key(db, c, f->network, &n, e) < 0)
		return -ENOENT;
	if (db_instance_find(db, n.project, f->instance, &in, NULL) < 0 ||
	    network_nic_on(db, in.key, f->network, &nic, NULL) < 0)
		return err_set(e, -ENOENT, "instance \"%s\": not on network \"%s\"", f->instance,
			       n.name);
	sqlite3_stmt *st;
	int rc = db_prepare(db, "INSERT INTO forwards (network, protocol, port, instance, target_port) "
			 "VALUES (?1, ?2, ?3, ?4, ?5)", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, f->network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->protocol, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->port);
	sqlite3_bind_text(st, 4, in.key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, f->target_port);
	rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(db_sqlite(db));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ext == SQLITE_CONSTRAINT_PRIMARYKEY
			? err_set(e, -EEXIST, "forward %s:%d: this host port is forwarded already",
				  f->protocol, f->port)
			: db_sql_err(db, e, "saving a forward");
	if ((rc = network_refresh(db, c, f->network, e)) < 0)
		network_forward_del(db, c, &n, f->protocol, f->port, NULL);
	return rc;
}

int network_forward_del(struct db *db, const struct net_ctx *c, const struct network *n,
			const char *protocol, int port, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "DELETE FROM forwards WHERE network = ?1 AND protocol = ?2 AND "
			 "port = ?3", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, n->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, protocol, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, port);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "deleting a forward");
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db_sqlite(db)) == 0)
		return err_set(e, -ENOENT, "forward %s:%d: no such forward on network \"%s\"",
			       protocol, port, n->name);
	return rc == 0 ? network_refresh(db, c, n->key, e) : rc;
}

int network_forward_list(struct db *db, const struct network *n, struct forward **out,
			 size_t *count_out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT f.network, f.protocol, f.port, coalesce(i.name, f.instance), "
			 "f.target_port FROM forwards f LEFT JOIN instances i ON i.host_key = "
			 "f.instance WHERE f.network = ?1 ORDER BY f.protocol, f.port", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, n->key, -1, SQLITE_STATIC);
	struct forward *v = NULL;
	size_t count = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct forward *nv = realloc(v, (count + 1) * sizeof *v);
		if (!nv) {
			free(v);
			sqlite3_finalize(st);
			return err_set(e, -ENOMEM, "listing forwards: out of memory");
		}
		v = nv;
		struct forward *f = &v[count++];
		db_copy_text(f->network, sizeof f->network, st, 0);
		db_copy_text(f->protocol, sizeof f->protocol, st, 1);
		f->port = sqlite3_column_int(st, 2);
		db_copy_text(f->instance, sizeof f->instance, st, 3);
		f->target_port = sqlite3_column_int(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return db_sql_err(db, e, "listing forwards");
	}
	*out = v;
	*count_out = count;
	return 0;
}
