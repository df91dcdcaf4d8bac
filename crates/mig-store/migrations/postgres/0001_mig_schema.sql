-- The MIG schema (protocol spec §9.1), column for column as the original
-- database/schema.sql creates it, so that the original Go API and scheduler can
-- share the database with mig-rs. IF NOT EXISTS lets an existing MIG database be
-- adopted. Roles and grants are not created here: see `mig_store::roles`.

CREATE SEQUENCE IF NOT EXISTS investigators_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE SEQUENCE IF NOT EXISTS manifests_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE SEQUENCE IF NOT EXISTS loaders_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;

CREATE TABLE IF NOT EXISTS actions (
    id numeric NOT NULL,
    name character varying(2048) NOT NULL,
    target character varying(2048) NOT NULL,
    description json,
    threat json,
    operations json,
    validfrom timestamp with time zone NOT NULL,
    expireafter timestamp with time zone NOT NULL,
    starttime timestamp with time zone,
    finishtime timestamp with time zone,
    lastupdatetime timestamp with time zone,
    status character varying(256),
    syntaxversion integer,
    pgpsignatures character varying(4096) NOT NULL,
    CONSTRAINT actions_pkey PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS agents (
    id numeric NOT NULL,
    name character varying(2048) NOT NULL,
    queueloc character varying(2048) NOT NULL,
    mode character varying(2048) NOT NULL,
    version character varying(2048) NOT NULL,
    pid integer NOT NULL,
    starttime timestamp with time zone NOT NULL,
    destructiontime timestamp with time zone,
    heartbeattime timestamp with time zone NOT NULL,
    refreshtime timestamp with time zone NOT NULL,
    status character varying(255),
    environment json,
    tags json,
    loadername character varying(2048),
    CONSTRAINT agents_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS agents_heartbeattime_idx ON agents (heartbeattime DESC);
CREATE INDEX IF NOT EXISTS agents_starttime_idx ON agents (starttime DESC);
CREATE INDEX IF NOT EXISTS agents_queueloc_pid_idx ON agents (queueloc, pid);
CREATE INDEX IF NOT EXISTS agents_status_idx ON agents (status);

CREATE TABLE IF NOT EXISTS agents_stats (
    "timestamp" timestamp with time zone NOT NULL,
    online_agents numeric,
    online_agents_by_version json,
    online_endpoints numeric,
    idle_agents numeric,
    idle_agents_by_version json,
    idle_endpoints numeric,
    new_endpoints numeric,
    multi_agents_endpoints numeric,
    disappeared_endpoints numeric,
    flapping_endpoints numeric
);

CREATE TABLE IF NOT EXISTS commands (
    id numeric NOT NULL,
    actionid numeric NOT NULL,
    agentid numeric NOT NULL,
    status character varying(255) NOT NULL,
    results json,
    starttime timestamp with time zone NOT NULL,
    finishtime timestamp with time zone,
    CONSTRAINT commands_pkey PRIMARY KEY (id),
    CONSTRAINT commands_actionid_fkey FOREIGN KEY (actionid) REFERENCES actions (id),
    CONSTRAINT commands_agentid_fkey FOREIGN KEY (agentid) REFERENCES agents (id)
);
CREATE INDEX IF NOT EXISTS commands_agentid ON commands (agentid DESC);
CREATE INDEX IF NOT EXISTS commands_actionid ON commands (actionid DESC);

CREATE TABLE IF NOT EXISTS investigators (
    id numeric DEFAULT nextval('investigators_id_seq'::regclass) NOT NULL,
    name character varying(1024) NOT NULL,
    pgpfingerprint character varying(128),
    publickey bytea,
    privatekey bytea,
    status character varying(255) NOT NULL,
    createdat timestamp with time zone NOT NULL,
    lastmodified timestamp with time zone NOT NULL,
    permissions bigint DEFAULT 0 NOT NULL,
    apikey bytea,
    apisalt bytea,
    CONSTRAINT investigators_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS investigators_pgpfingerprint_idx ON investigators (pgpfingerprint);

CREATE TABLE IF NOT EXISTS signatures (
    actionid numeric NOT NULL,
    investigatorid numeric NOT NULL,
    pgpsignature character varying(4096) NOT NULL,
    CONSTRAINT signatures_actionid_investigatorid_key UNIQUE (actionid, investigatorid),
    CONSTRAINT signatures_actionid_fkey FOREIGN KEY (actionid) REFERENCES actions (id),
    CONSTRAINT signatures_investigatorid_fkey FOREIGN KEY (investigatorid) REFERENCES investigators (id)
);
CREATE INDEX IF NOT EXISTS signatures_actionid_idx ON signatures (actionid);
CREATE INDEX IF NOT EXISTS signatures_investigatorid_idx ON signatures (investigatorid);
CREATE INDEX IF NOT EXISTS signatures_pgpsignature_idx ON signatures (pgpsignature);

CREATE TABLE IF NOT EXISTS manifests (
    id numeric DEFAULT nextval('manifests_id_seq'::regclass) NOT NULL,
    name character varying(256) NOT NULL,
    content text NOT NULL,
    "timestamp" timestamp with time zone NOT NULL,
    status character varying(255) NOT NULL,
    target character varying(2048) NOT NULL,
    CONSTRAINT manifests_pkey PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS manifestsig (
    manifestid numeric NOT NULL,
    investigatorid numeric NOT NULL,
    pgpsignature character varying(4096) NOT NULL,
    CONSTRAINT manifestsig_manifestid_investigatorid_key UNIQUE (manifestid, investigatorid),
    CONSTRAINT manifestsig_manifestid_fkey FOREIGN KEY (manifestid) REFERENCES manifests (id),
    CONSTRAINT manifestsig_investigatorid_fkey FOREIGN KEY (investigatorid) REFERENCES investigators (id)
);

CREATE TABLE IF NOT EXISTS loaders (
    id numeric DEFAULT nextval('loaders_id_seq'::regclass) NOT NULL,
    loadername character varying(256) NOT NULL,
    keyprefix character varying(256) NOT NULL,
    loaderkey bytea NOT NULL,
    salt bytea NOT NULL,
    name character varying(2048),
    env json,
    tags json,
    lastseen timestamp with time zone NOT NULL,
    enabled boolean DEFAULT false NOT NULL,
    expectenv character varying(2048),
    queueloc character varying(2048),
    CONSTRAINT loaders_pkey PRIMARY KEY (id),
    CONSTRAINT loaders_loadername_key UNIQUE (loadername),
    CONSTRAINT loaders_keyprefix_key UNIQUE (keyprefix),
    CONSTRAINT loaders_loaderkey_key UNIQUE (loaderkey),
    CONSTRAINT loaders_queueloc_key UNIQUE (queueloc)
);

CREATE TABLE IF NOT EXISTS modules (
    id numeric NOT NULL,
    name character varying(256) NOT NULL,
    CONSTRAINT modules_pkey PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS agtmodreq (
    moduleid numeric NOT NULL,
    agentid numeric NOT NULL,
    minimumweight integer NOT NULL,
    CONSTRAINT agtmodreq_moduleid_agentid_key UNIQUE (moduleid, agentid),
    CONSTRAINT agtmodreq_moduleid_fkey FOREIGN KEY (moduleid) REFERENCES modules (id)
);

CREATE TABLE IF NOT EXISTS invagtmodperm (
    investigatorid numeric NOT NULL,
    agentid numeric NOT NULL,
    moduleid numeric NOT NULL,
    weight integer NOT NULL,
    CONSTRAINT invagtmodperm_investigatorid_agentid_moduleid_key UNIQUE (investigatorid, agentid, moduleid),
    CONSTRAINT invagtmodperm_investigatorid_fkey FOREIGN KEY (investigatorid) REFERENCES investigators (id),
    CONSTRAINT invagtmodperm_agentid_fkey FOREIGN KEY (agentid) REFERENCES agents (id),
    CONSTRAINT invagtmodperm_moduleid_fkey FOREIGN KEY (moduleid) REFERENCES modules (id)
);

-- ---------------------------------------------------------------------------------
-- mig-rs additions. Nothing above is altered; the original components ignore these.
-- ---------------------------------------------------------------------------------

-- Commands waiting to be published to the relay (transactional outbox): written in
-- the same transaction as the commands rows, deleted once the relay confirmed them.
-- `claimed_at` is the lease of the scheduler that took the row for publishing.
CREATE TABLE IF NOT EXISTS outbox (
    command_id numeric NOT NULL,
    action_id numeric NOT NULL,
    queueloc character varying(2048) NOT NULL,
    body text NOT NULL,
    expiration_ms bigint NOT NULL,
    claimed_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT outbox_pkey PRIMARY KEY (command_id)
);
CREATE INDEX IF NOT EXISTS outbox_created_at_idx ON outbox (created_at, command_id);

-- Which scheduler claim moved an action to `scheduled`, and when; a claim older
-- than the lease means the scheduler died and the action may be claimed again.
-- Kept apart so that `actions` keeps exactly the original columns.
CREATE TABLE IF NOT EXISTS action_claims (
    action_id numeric NOT NULL,
    claimed_at timestamp with time zone NOT NULL,
    CONSTRAINT action_claims_pkey PRIMARY KEY (action_id),
    CONSTRAINT action_claims_action_id_fkey FOREIGN KEY (action_id) REFERENCES actions (id)
);

-- Runnable-action and expiry sweeps look actions up by status.
CREATE INDEX IF NOT EXISTS actions_status_idx ON actions (status);

-- Expiry looks for `sent` commands.
CREATE INDEX IF NOT EXISTS commands_status_idx ON commands (status);

-- Every new action, whoever inserts it (mig-rs or the original Go API), wakes the
-- schedulers listening on `mig_new_action`.
CREATE OR REPLACE FUNCTION mig_notify_new_action() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mig_new_action', NEW.id::text);
    RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS actions_notify_new_action ON actions;
CREATE TRIGGER actions_notify_new_action
    AFTER INSERT ON actions
    FOR EACH ROW EXECUTE FUNCTION mig_notify_new_action();
