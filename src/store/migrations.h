/*
 * migrations.h - the versioned schema migrations, embedded at build time
 * from src/store/migrations/NNNN_name.sql (private to the store).
 */
#ifndef CD_STORE_MIGRATIONS_H
#define CD_STORE_MIGRATIONS_H

struct migration {
	int version;
	const char *name;
	const char *sql; /* with @ID@ for the backend's identity column */
};

extern const struct migration store_migrations[];
extern const int store_migrations_count;

#endif
