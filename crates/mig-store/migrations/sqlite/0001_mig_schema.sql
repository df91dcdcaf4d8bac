-- The MIG schema (protocol spec §9.1) for the embedded SQLite store: the same
-- tables and columns as on PostgreSQL, with ids as INTEGER, JSON as TEXT and
-- timestamps as TEXT in the fixed-width UTC form `YYYY-MM-DDTHH:MM:SS.ffffffZ`
-- (text order is time order; the target compiler relies on it).

CREATE TABLE actions (
    id INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    description TEXT,
    threat TEXT,
    operations TEXT,
    validfrom TEXT NOT NULL,
    expireafter TEXT NOT NULL,
    starttime TEXT,
    finishtime TEXT,
    lastupdatetime TEXT,
    status TEXT,
    syntaxversion INTEGER,
    pgpsignatures TEXT NOT NULL
);

CREATE TABLE agents (
    id INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    queueloc TEXT NOT NULL,
    mode TEXT NOT NULL,
    version TEXT NOT NULL,
    pid INTEGER NOT NULL,
    starttime TEXT NOT NULL,
    destructiontime TEXT,
    heartbeattime TEXT NOT NULL,
    refreshtime TEXT NOT NULL,
    status TEXT,
    environment TEXT,
    tags TEXT,
    loadername TEXT
);
CREATE INDEX agents_heartbeattime_idx ON agents (heartbeattime DESC);
CREATE INDEX agents_starttime_idx ON agents (starttime DESC);
CREATE INDEX agents_queueloc_pid_idx ON agents (queueloc, pid);
CREATE INDEX agents_status_idx ON agents (status);

CREATE TABLE agents_stats (
    "timestamp" TEXT NOT NULL,
    online_agents INTEGER,
    online_agents_by_version TEXT,
    online_endpoints INTEGER,
    idle_agents INTEGER,
    idle_agents_by_version TEXT,
    idle_endpoints INTEGER,
    new_endpoints INTEGER,
    multi_agents_endpoints INTEGER,
    disappeared_endpoints INTEGER,
    flapping_endpoints INTEGER
);

CREATE TABLE commands (
    id INTEGER NOT NULL PRIMARY KEY,
    actionid INTEGER NOT NULL REFERENCES actions (id),
    agentid INTEGER NOT NULL REFERENCES agents (id),
    status TEXT NOT NULL,
    results TEXT,
    starttime TEXT NOT NULL,
    finishtime TEXT
);
CREATE INDEX commands_agentid ON commands (agentid DESC);
CREATE INDEX commands_actionid ON commands (actionid DESC);

-- AUTOINCREMENT plays the part of investigators_id_seq: ids are never reused.
CREATE TABLE investigators (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    pgpfingerprint TEXT,
    publickey BLOB,
    privatekey BLOB,
    status TEXT NOT NULL,
    createdat TEXT NOT NULL,
    lastmodified TEXT NOT NULL,
    permissions INTEGER NOT NULL DEFAULT 0,
    apikey BLOB,
    apisalt BLOB
);
CREATE UNIQUE INDEX investigators_pgpfingerprint_idx ON investigators (pgpfingerprint);

CREATE TABLE signatures (
    actionid INTEGER NOT NULL REFERENCES actions (id),
    investigatorid INTEGER NOT NULL REFERENCES investigators (id),
    pgpsignature TEXT NOT NULL,
    UNIQUE (actionid, investigatorid)
);
CREATE INDEX signatures_actionid_idx ON signatures (actionid);
CREATE INDEX signatures_investigatorid_idx ON signatures (investigatorid);

CREATE TABLE manifests (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    content TEXT NOT NULL,
    "timestamp" TEXT NOT NULL,
    status TEXT NOT NULL,
    target TEXT NOT NULL
);

CREATE TABLE manifestsig (
    manifestid INTEGER NOT NULL REFERENCES manifests (id),
    investigatorid INTEGER NOT NULL REFERENCES investigators (id),
    pgpsignature TEXT NOT NULL,
    UNIQUE (manifestid, investigatorid)
);

CREATE TABLE loaders (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    loadername TEXT NOT NULL UNIQUE,
    keyprefix TEXT NOT NULL UNIQUE,
    loaderkey BLOB NOT NULL UNIQUE,
    salt BLOB NOT NULL,
    name TEXT,
    env TEXT,
    tags TEXT,
    lastseen TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    expectenv TEXT,
    queueloc TEXT UNIQUE
);

CREATE TABLE modules (
    id INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE agtmodreq (
    moduleid INTEGER NOT NULL REFERENCES modules (id),
    agentid INTEGER NOT NULL,
    minimumweight INTEGER NOT NULL,
    UNIQUE (moduleid, agentid)
);

CREATE TABLE invagtmodperm (
    investigatorid INTEGER NOT NULL REFERENCES investigators (id),
    agentid INTEGER NOT NULL REFERENCES agents (id),
    moduleid INTEGER NOT NULL REFERENCES modules (id),
    weight INTEGER NOT NULL,
    UNIQUE (investigatorid, agentid, moduleid)
);

-- mig-rs additions, as on PostgreSQL: the outbox of commands to publish, the
-- claims of scheduled actions, and status indexes for the sweeps.
CREATE TABLE outbox (
    command_id INTEGER NOT NULL PRIMARY KEY,
    action_id INTEGER NOT NULL,
    queueloc TEXT NOT NULL,
    body TEXT NOT NULL,
    expiration_ms INTEGER NOT NULL,
    claimed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX outbox_created_at_idx ON outbox (created_at, command_id);

CREATE TABLE action_claims (
    action_id INTEGER NOT NULL PRIMARY KEY REFERENCES actions (id),
    claimed_at TEXT NOT NULL
);

CREATE INDEX actions_status_idx ON actions (status);
CREATE INDEX commands_status_idx ON commands (status);
