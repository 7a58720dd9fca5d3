/* The schema migrations (see db_migrations.c). */
#ifndef NIMBUS_DAEMON_DB_MIGRATIONS_H
#define NIMBUS_DAEMON_DB_MIGRATIONS_H

extern const char *const db_migrations[];
extern const int db_nmigrations;

#endif
