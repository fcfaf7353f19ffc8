/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-config: the configuration model shared by every daemon.
 *
 * One main file (INI, read with GKeyFile) with [global], [listener.NAME] and
 * one section per daemon ([relay] [auth] [rate.NAME] [greylist] [verify]
 * [sign]), plus an overlay directory of per-domain files
 * (domains_dir/DOMAIN.conf) holding the same daemon sections, merged key by
 * key over the main file. Each daemon declares its section as a schema table
 * (PcConfigKey[]) that drives parsing, validation, defaults and `-n`; a
 * daemon validates [global], the listeners and its own section, and accepts
 * the other daemons' section names without reading them (the `portcullis`
 * command checks those).
 *
 * A daemon may declare more schemas than its own section (extra schemas,
 * pc_config_load_full): a single one such as [greylist], or a multi-section
 * one such as [rate.NAME], where every [rate.NAME] in the file is parsed with
 * the same key table into its own struct (pc_config_get_sections, in file
 * order). domains.d files override them key by key like the main section
 * (pc_config_get_domain_group).
 *
 * GKeyFile's traps are closed here: duplicate keys and sections are errors
 * (GKeyFile would keep the last one silently), a " #" comment after a value is
 * an error (GKeyFile would make it part of the value), booleans take
 * yes/no/on/off/true/false/1/0, list items are split on ';', ',' or blanks and
 * trimmed. Every error names the file, line, section and key.
 *
 * A PcConfig is an immutable, atomically reference-counted snapshot. A
 * PcConfigSlot holds the current one; reload builds and validates a complete
 * new snapshot and swaps it in, or keeps the old one and returns the error.
 *
 * Thread-safety: a PcConfig is immutable after pc_config_load() and may be
 * read from any thread that holds a reference. PcConfigSlot functions are
 * thread-safe (one short mutex).
 */
#pragma once

#include <glib.h>

#include "pc-net.h"

G_BEGIN_DECLS

#define PC_CONFIG_ERROR (pc_config_error_quark())
typedef enum {
	PC_CONFIG_ERROR_IO,    /* file missing or unreadable */
	PC_CONFIG_ERROR_PARSE, /* not INI syntax */
	PC_CONFIG_ERROR_UNKNOWN_SECTION,
	PC_CONFIG_ERROR_UNKNOWN_KEY,
	PC_CONFIG_ERROR_DUPLICATE,	/* key or section given twice */
	PC_CONFIG_ERROR_VALUE,		/* value does not parse */
	PC_CONFIG_ERROR_RANGE,		/* value out of bounds */
	PC_CONFIG_ERROR_NOT_PER_DOMAIN, /* key not allowed in domains.d */
} PcConfigError;
GQuark pc_config_error_quark(void);

/* seconds as the microseconds durations are stored in */
#define PC_USEC(seconds) ((gint64)(seconds)*G_GINT64_CONSTANT(1000000))

/* PC_SYSCONFDIR comes from meson (sysconfdir): /etc for packages */
#ifndef PC_SYSCONFDIR
#define PC_SYSCONFDIR "/etc"
#endif
#define PC_CONFIG_DEFAULT_FILE PC_SYSCONFDIR "/portcullis/portcullis.conf"
/*
 * where a daemon's milter socket is when [NAME] socket is not set:
 * NAME.sock in Postfix's queue directory, where a chrooted smtpd (Debian's
 * default) reaches it as unix:run/portcullis/NAME.sock, an unchrooted one
 * too (Postfix runs in its queue directory), and Sendmail by its absolute
 * path; the packages make the directory (tmpfiles.d), group portcullis
 */
#define PC_SOCKET_DIR_DEFAULT "/var/spool/postfix/run/portcullis"

typedef enum {
	PC_CONFIG_STRING,      /* char *, NULL when empty */
	PC_CONFIG_STRING_LIST, /* char ** (GStrv), never NULL */
	PC_CONFIG_BOOL,	       /* gboolean */
	PC_CONFIG_INT,	       /* gint64, bounded by min..max */
	PC_CONFIG_DURATION,    /* gint64 microseconds; "30s 10m 1h 1d 1w", bare number = s */
	PC_CONFIG_SIZE,	       /* gint64 bytes; "512 10k 10M 1G" */
	PC_CONFIG_ENUM,	       /* int, index into choices */
	PC_CONFIG_NETWORKS,    /* PcNetList * */
	PC_CONFIG_DOMAINS,     /* char ** normalised domains; ".example.com" = subdomains */
	PC_CONFIG_INT_LIST,    /* GArray * of gint64, each bounded by min..max */
	PC_CONFIG_RATE,	       /* GArray * of PcConfigRateWindow: "60/1m; 500/1h; 2000/1d",
				* each count bounded by min..max; NULL when unset */
} PcConfigType;

/* one window of a PC_CONFIG_RATE value: count per period */
typedef struct {
	gint64 count;	  /* >= 1; a size suffix is allowed ("100M/1h" for bytes) */
	gint64 period_us; /* 1 s .. 366 d */
} PcConfigRateWindow;

/* windows one rate value may hold */
#define PC_CONFIG_MAX_RATE_WINDOWS 8

typedef enum {
	PC_CONFIG_KEY_NONE = 0,
	PC_CONFIG_KEY_PER_DOMAIN = 1 << 0, /* may be set in domains.d/DOMAIN.conf */
	PC_CONFIG_KEY_RESTART = 1 << 1,	   /* read at start only; reload warns on change */
} PcConfigKeyFlags;

typedef struct {
	const char *key;
	PcConfigType type;
	const char *default_value; /* in file syntax; NULL = unset */
	gint64 min;		   /* INT/DURATION/SIZE/INT_LIST bounds (same unit as stored) */
	gint64 max;
	const char *const *choices; /* ENUM: NULL-terminated */
	gsize offset;		    /* of the field in the section struct */
	PcConfigKeyFlags flags;
	const char *doc; /* one line, for -n and the documentation */
	/*
	 * optional: checks the field once its text has parsed (a value whose
	 * syntax the type alone does not say, such as [global] dns); field
	 * points into the section struct. Error without prefix.
	 */
	gboolean (*validate)(gconstpointer field, GError **error);
} PcConfigKey;

typedef struct {
	const char *name; /* "relay": the section name and the daemon's short name */
	const PcConfigKey *keys;
	gsize n_keys;
	gsize size; /* sizeof the section struct */
	/* optional cross-key check on a filled struct; error without prefix */
	gboolean (*check)(gconstpointer section, GError **error);
	/*
	 * optional: builds the objects the section owns (a parsed map, private
	 * keys) once its keys are filled and checked, for the main section and
	 * for every domains.d override of it, in the thread that loads the
	 * snapshot; nothing is read from disk on a connection thread. The
	 * objects are swapped atomically with the snapshot and released by clear
	 * when its last reference goes. main_section is NULL when building the
	 * main file's section, else that section, already built: an override
	 * whose source did not change can share its objects. Error without prefix.
	 */
	gboolean (*build)(gpointer section, gconstpointer main_section, GError **error);
	/* releases what build made (called even when build failed half-way) */
	void (*clear)(gpointer section);
	/* a daemon's own schema: the default of its on_error key; NULL = "tempfail" */
	const char *on_error_default;
	/*
	 * extra schemas only: TRUE for [name.LABEL] sections, any number of them
	 * (LABEL: letters, digits, '_' and '-', at most 64), each its own struct;
	 * FALSE for one [name] section, filled with the defaults when absent
	 */
	gboolean multi;
} PcConfigSchema;

/* one section of an extra schema */
typedef struct {
	const char *name;   /* LABEL of [name.LABEL]; the schema's name for a single section */
	const char *group;  /* "rate.per_login" or "greylist": the section as written */
	gconstpointer data; /* the schema's struct, as the main file sets it */
} PcConfigSection;

typedef enum {
	PC_ROLE_MX,
	PC_ROLE_SUBMISSION,
	PC_ROLE_SMTPS,
	PC_ROLE_INTERNAL,
} PcListenerRole;

const char *pc_listener_role_to_string(PcListenerRole role);

typedef struct {
	char *name;	     /* "mx" of [listener.mx] */
	int role;	     /* PcListenerRole */
	GArray *ports;	     /* gint64 */
	char **daemon_names; /* matched against {daemon_name} */
} PcListener;

typedef struct {
	char **local_domains;
	PcNetList *trusted_networks;
	char *authserv_id;
	char *store;
	gint64 store_max_keys;
	char *statistics;
	char *domains_dir;
	char *control_dir; /* NULL: no control sockets */
	char *user;
	char *group;
	gint64 store_timeout;	      /* us: a shared store's command timeout */
	gint64 store_connect_timeout; /* us */
	gint64 store_connections;     /* a shared store's connection pool */
	gint64 max_connections;	      /* concurrent MTA connections per daemon */
	gint64 milter_timeout;	      /* us: longest wait for the MTA on a milter connection */
	char **dns;		      /* "system", "recursive" or forwarders "ADDRESS[@PORT]" */
	gint64 dns_timeout;	      /* us: one query */
	gint64 dns_message_budget;    /* us: all of one message's queries */
	gboolean dnssec;
	char *dns_trust_anchor; /* file of DS or DNSKEY records, for dnssec */
} PcGlobalConfig;

/* one daemon's schemas, as it loads the file: for checking every section at once */
typedef struct {
	const PcConfigSchema *schema;
	const PcConfigSchema *const *extra_schemas; /* NULL-terminated, or NULL */
} PcConfigDaemonSchemas;

/* what a daemon does when a lookup it needs fails (store, map, DNS) */
typedef enum {
	PC_ON_ERROR_TEMPFAIL, /* 451 4.3.0: the client retries (pc_verdict_lookup_failed) */
	PC_ON_ERROR_ACCEPT,   /* the step goes on, logged */
} PcOnError;

/* keys every daemon section has, filled into PcConfig rather than the daemon's struct */
typedef struct {
	char *socket;
	char *pid_file;
	char *statistics; /* this daemon's own HOST:PORT; NULL = derived from [global] */
	int on_error;	  /* PcOnError; default from PcConfigSchema.on_error_default */
} PcDaemonBase;

typedef struct _PcConfig PcConfig;

/*
 * pc_config_load:
 * @path: the main file
 * @schema: the calling daemon's section schema (NULL: only [global] and the
 *   listeners are read, as the admin tool's base)
 * Reads path and every DOMAIN.conf in domains_dir. Returns: (transfer full) a new
 * snapshot, or NULL with error prefixed "FILE:LINE: [section] key: ". The
 * load goes on past an error so that one run reports them all: the message
 * then holds one such line per error (at most 100), and the code is the
 * first error's.
 */
PcConfig *pc_config_load(const char *path, const PcConfigSchema *schema, GError **error);

/*
 * pc_config_load_full:
 * @extra_schemas: NULL-terminated, or NULL: more sections the daemon reads
 *   besides its own (single or multi, see PcConfigSchema.multi)
 * As pc_config_load. Returns: (transfer full).
 */
PcConfig *pc_config_load_full(const char *path, const PcConfigSchema *schema,
			      const PcConfigSchema *const *extra_schemas, GError **error);
PcConfig *pc_config_ref(PcConfig *config);
void pc_config_unref(PcConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcConfig, pc_config_unref)

/* (transfer none) valid while the caller holds its reference */
const char *pc_config_get_path(const PcConfig *config);
const PcGlobalConfig *pc_config_get_global(const PcConfig *config);
const PcDaemonBase *pc_config_get_daemon(const PcConfig *config);
/* the daemon's section struct (its schema's type) */
gconstpointer pc_config_get_section(const PcConfig *config);
/*
 * pc_config_get_domain_section:
 * The daemon's section as domains.d/DOMAIN.conf overrides it, or the main
 * section when that domain has no file. domain must be normalised.
 */
gconstpointer pc_config_get_domain_section(const PcConfig *config, const char *domain);
guint pc_config_get_n_domain_files(const PcConfig *config);

/*
 * pc_config_get_sections:
 * The sections of the extra schema called schema_name, in file order (one
 * for a single-section schema). Returns: (transfer none) an array of
 * *n_sections_out entries, valid while the caller holds its reference; NULL
 * and 0 when the daemon declared no such schema or the file has no section.
 */
const PcConfigSection *pc_config_get_sections(const PcConfig *config, const char *schema_name,
					      guint *n_sections_out);

/*
 * pc_config_get_domain_group:
 * The struct of an extra schema's section (group "rate.per_login" or
 * "greylist") as domains.d/DOMAIN.conf overrides it, or as the main file sets
 * it when domain is NULL or has no such section in its file. NULL when the
 * group is not one of the daemon's. (transfer none)
 */
gconstpointer pc_config_get_domain_group(const PcConfig *config, const char *group,
					 const char *domain);
guint pc_config_get_n_listeners(const PcConfig *config);
/* (transfer none) the index-th [listener.NAME], in file order; index < n_listeners */
const PcListener *pc_config_get_listener(const PcConfig *config, guint index);

/*
 * pc_config_get_origin:
 * Where [group] key's value comes from, for domain (NULL: the main file's
 * view): "PATH:LINE" of the domains.d file that sets it, else of the main
 * file's line, else NULL (the default applies). For the admin's
 * `portcullis explain` and `check`. (transfer none)
 */
const char *pc_config_get_origin(const PcConfig *config, const char *group, const char *key,
				 const char *domain);

/*
 * pc_config_is_local_domain:
 * TRUE when the normalised domain is in local_domains (exactly, or below a
 * ".parent" entry) or has a domains.d file. IP literals ("[192.0.2.1]") match
 * only literal entries.
 */
gboolean pc_config_is_local_domain(const PcConfig *config, const char *domain);
/* TRUE when domains.d has a file for the normalised domain (a hosted domain with its own policy) */
gboolean pc_config_has_domain_file(const PcConfig *config, const char *domain);
gboolean pc_config_is_trusted(const PcConfig *config, const PcNetAddress *address);

/*
 * pc_config_find_listener:
 * By {daemon_name} first, then by {daemon_port}. NULL when nothing matches
 * (callers treat that as role mx, the strictest).
 */
const PcListener *pc_config_find_listener(const PcConfig *config, const char *daemon_name,
					  gint64 daemon_port);

/*
 * pc_config_warn_once:
 * TRUE the first time it is called with this bit for this snapshot, so a
 * warning about the configuration is logged once per load, not per message.
 */
gboolean pc_config_warn_once(PcConfig *config, guint bit);
#define PC_CONFIG_WARN_UNKNOWN_LISTENER (1u << 0)

/*
 * pc_config_check_all:
 * Loads path as each daemon of daemons (terminated by an entry with a NULL
 * schema) would, and reports every distinct error of all of them in one
 * error, one per line. For `-n`: a file that one daemon accepts may still
 * stop another.
 */
gboolean pc_config_check_all(const char *path, const PcConfigDaemonSchemas *daemons,
			     GError **error);

/*
 * pc_config_keep_restart_values:
 * For a reload: every key flagged PC_CONFIG_KEY_RESTART whose value differs
 * between running and config is logged ("[global] store changed: takes
 * effect at restart") and set back in config to the running value, so the
 * new snapshot says what is in force. config must not be published yet.
 * Returns the number of such keys.
 */
guint pc_config_keep_restart_values(PcConfig *config, const PcConfig *running);

/* the key tables every daemon shares, for generated documentation */
typedef enum {
	PC_CONFIG_KEYS_GLOBAL,	 /* [global] */
	PC_CONFIG_KEYS_LISTENER, /* [listener.NAME] */
	PC_CONFIG_KEYS_DAEMON,	 /* the keys of every daemon's section (socket, on_error, ...) */
} PcConfigKeyTable;

/* (transfer none) the table and its length */
const PcConfigKey *pc_config_get_key_table(PcConfigKeyTable table, gsize *n_keys_out);

/* describes the effective values of the daemon's section, one "key = value" a line */
char *pc_config_describe(const PcConfig *config);

/* value parsers, also used by tests and the admin tool */
gboolean pc_config_parse_bool(const char *text, gboolean *value_out, GError **error);
/*
 * pc_config_parse_duration, pc_config_parse_size:
 * Digits, then at most one unit: durations "50ms 30s 10m 1h 1d 1w" (a bare
 * number is seconds), sizes "512 10k 10K 10M 1G" (binary: k = 1024). No sign,
 * no blanks, no fraction. Returns FALSE with PC_CONFIG_ERROR_VALUE when the
 * text does not parse, PC_CONFIG_ERROR_RANGE when the number or the number
 * times its unit passes G_MAXINT64 (microseconds, bytes); the out-parameter
 * is written only on success.
 */
gboolean pc_config_parse_duration(const char *text, gint64 *usec_out, GError **error);
gboolean pc_config_parse_size(const char *text, gint64 *bytes_out, GError **error);
/*
 * pc_config_parse_rate:
 * "60/1m; 500/1h" (a period without a number is one unit: "60/m"); counts
 * bounded by min_count..max_count. Returns: TRUE and (transfer full) a GArray
 * of PcConfigRateWindow, or FALSE with PC_CONFIG_ERROR_VALUE or _RANGE.
 */
gboolean pc_config_parse_rate(const char *text, gint64 min_count, gint64 max_count,
			      GArray **windows_out, GError **error);

/* splits a list value on ';', ',' and blanks; empty items dropped. (transfer full) */
char **pc_config_split_list(const char *text);

/*
 * PcConfigSlot: the process's current snapshot.
 * acquire returns (transfer full) a reference taken under the slot's mutex,
 * so it cannot race with the release of the last reference on swap.
 */
typedef struct {
	GMutex lock;
	PcConfig *current;
} PcConfigSlot;

void pc_config_slot_init(PcConfigSlot *slot, PcConfig *config);
PcConfig *pc_config_slot_acquire(PcConfigSlot *slot);
void pc_config_slot_replace(PcConfigSlot *slot, PcConfig *config);
void pc_config_slot_clear(PcConfigSlot *slot);

G_END_DECLS
