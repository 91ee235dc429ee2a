--
-- PostgreSQL database dump
--

\restrict JKRda9QNgB8ygKNf1x5BDwqE8NmYHaVNoEWjLHg2iPtf5SHiECZeWSWvY9KI1sc

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: clusters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.clusters (
    id character varying(64) NOT NULL,
    seq bigint NOT NULL,
    name character varying(128) NOT NULL,
    kind character varying(8) NOT NULL,
    owner_id bigint NOT NULL,
    state character varying(16) NOT NULL,
    description json NOT NULL,
    job_id character varying(64) NOT NULL,
    task_name character varying(128) NOT NULL,
    creation_time double precision NOT NULL
);


--
-- Name: counters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.counters (
    name character varying(32) NOT NULL,
    value bigint NOT NULL
);


--
-- Name: groups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.groups (
    cluster_id character varying(64) NOT NULL,
    name character varying(128) NOT NULL,
    desired integer NOT NULL,
    instance_type character varying(64) NOT NULL,
    spec json NOT NULL
);


--
-- Name: idempotency; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.idempotency (
    kind character varying(16) NOT NULL,
    token character varying(128) NOT NULL,
    resource_id character varying(64) NOT NULL,
    body_hash character varying(64) NOT NULL,
    created double precision NOT NULL
);


--
-- Name: instances; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.instances (
    job_id character varying(64) NOT NULL,
    task_name character varying(128) NOT NULL,
    instance_id integer NOT NULL,
    state character varying(16) NOT NULL,
    attempt integer NOT NULL,
    retry_count integer NOT NULL,
    vm_id character varying(64) NOT NULL,
    node character varying(128) NOT NULL,
    node_ip character varying(64) NOT NULL,
    owner_node character varying(64) NOT NULL,
    pid integer,
    sandbox_path text NOT NULL,
    exit_code integer,
    error_code character varying(64) NOT NULL,
    error_message text NOT NULL,
    detail text NOT NULL,
    stdout_object text NOT NULL,
    stderr_object text NOT NULL,
    start_time double precision,
    end_time double precision
);


--
-- Name: job_leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_leases (
    job_id character varying(64) NOT NULL,
    node character varying(64) NOT NULL,
    expires double precision NOT NULL,
    version bigint NOT NULL
);


--
-- Name: jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.jobs (
    id character varying(64) NOT NULL,
    seq bigint NOT NULL,
    name character varying(128) NOT NULL,
    owner_id bigint NOT NULL,
    priority integer NOT NULL,
    state character varying(16) NOT NULL,
    message text NOT NULL,
    description json NOT NULL,
    spec_hash character varying(64) NOT NULL,
    auto_release boolean NOT NULL,
    fail_on_instance_fail boolean NOT NULL,
    creation_time double precision NOT NULL,
    start_time double precision,
    end_time double precision
);


--
-- Name: nonces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.nonces (
    nonce character varying(128) NOT NULL,
    expires double precision NOT NULL
);


--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id integer NOT NULL,
    endpoint text NOT NULL,
    payload json NOT NULL,
    attempts integer NOT NULL,
    next_at double precision NOT NULL,
    state character varying(16) NOT NULL
);


--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;


--
-- Name: tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tasks (
    job_id character varying(64) NOT NULL,
    name character varying(128) NOT NULL,
    ordinal integer NOT NULL,
    state character varying(16) NOT NULL,
    upstream json NOT NULL,
    instance_count integer NOT NULL,
    max_retry integer NOT NULL,
    timeout_s integer NOT NULL,
    cluster_id character varying(64) NOT NULL,
    auto_cluster_id character varying(64) NOT NULL,
    reserve_on_fail boolean NOT NULL,
    reserved_vm_count integer NOT NULL,
    instance_type character varying(64) NOT NULL,
    start_time double precision,
    end_time double precision
);


--
-- Name: tombstones; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tombstones (
    job_id character varying(64) NOT NULL,
    released_at double precision NOT NULL
);


--
-- Name: transitions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.transitions (
    id integer NOT NULL,
    job_id character varying(64) NOT NULL,
    scope character varying(16) NOT NULL,
    task character varying(128) NOT NULL,
    instance integer NOT NULL,
    from_state character varying(16) NOT NULL,
    to_state character varying(16) NOT NULL,
    cause text NOT NULL,
    at double precision NOT NULL
);


--
-- Name: transitions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.transitions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: transitions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.transitions_id_seq OWNED BY public.transitions.id;


--
-- Name: vms; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.vms (
    id character varying(64) NOT NULL,
    cluster_id character varying(64) NOT NULL,
    group_name character varying(128) NOT NULL,
    state character varying(16) NOT NULL,
    busy_job character varying(64) NOT NULL,
    busy_task character varying(128) NOT NULL,
    busy_instance integer NOT NULL,
    creation_time double precision NOT NULL
);


--
-- Name: outbox id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);


--
-- Name: transitions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.transitions ALTER COLUMN id SET DEFAULT nextval('public.transitions_id_seq'::regclass);


--
-- Data for Name: clusters; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.clusters VALUES ('cls-d8mnkzrbyoufi7tmd78q04', 1796284240062734707, 'pool', 'named', 1, 'Active', '{"Name": "pool", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 1, "InstanceType": "ecs.sn1.medium"}}, "Description": "", "InstanceType": "", "UserData": {}, "EnvVars": {}, "InputMapping": {}, "Bootstrap": ""}', '', '', 1796284240.0627394);
INSERT INTO public.clusters VALUES ('cls-joxiq8awthgdx7nkgu0nm1', 1796284240071935297, 'empty', 'named', 1, 'Active', '{"Name": "empty", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 0, "InstanceType": "ecs.sn1.medium"}}, "Description": "", "InstanceType": "", "UserData": {}, "EnvVars": {}, "InputMapping": {}, "Bootstrap": ""}', '', '', 1796284240.071938);


--
-- Data for Name: counters; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.counters VALUES ('jobs', 3);


--
-- Data for Name: groups; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.groups VALUES ('cls-d8mnkzrbyoufi7tmd78q04', 'g', 1, 'ecs.sn1.medium', '{"DesiredVMCount": 1, "InstanceType": "ecs.sn1.medium"}');
INSERT INTO public.groups VALUES ('cls-joxiq8awthgdx7nkgu0nm1', 'g', 0, 'ecs.sn1.medium', '{"DesiredVMCount": 0, "InstanceType": "ecs.sn1.medium"}');


--
-- Data for Name: idempotency; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.idempotency VALUES ('cluster', 'previous_cluster', 'cls-d8mnkzrbyoufi7tmd78q04', '90daab600604b0023b16bdc9a01b001366e56bc5e51a0ea77f4d42bd3965c481', 0);
INSERT INTO public.idempotency VALUES ('job', 'previous_job', 'job-3CA205E5CE4226F5BD7B800F1D8295FB', '9bd5d76a45d655b23e5b4933951e5d51e34b698fc47e8c8309db84f5b63e0d83', 1796284240.0802102);


--
-- Data for Name: instances; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.instances VALUES ('job-3CA205E5CE4226F5BD7B800F1D8295FB', 'a', 0, 'Finished', 1, 0, 'i-1cgsfd9bhmkr5tcmsvm7', 'vm', '127.0.0.1', 'vm-688f004b', NULL, '', 0, '', '', '', '', '', 1796284240.0990713, 1796284240.132253);
INSERT INTO public.instances VALUES ('job-3CA205E5CE4226F5BD7B800F1D8295FB', 'b', 0, 'Finished', 1, 0, 'i-59zwtdqh5vnc58rhfx05', 'vm', '127.0.0.1', 'vm-688f004b', NULL, '', 0, '', '', '', '', '', 1796284240.1426551, 1796284240.1525855);
INSERT INTO public.instances VALUES ('job-B9FD5E6B57BCCBE39992E6CF13F4B364', 'a', 0, 'Stopped', 1, 0, 'i-e9fwjzfeuxkts7h7nkhb', 'vm', '127.0.0.1', 'vm-688f004b', NULL, '', NULL, 'InstanceStopped', 'killed because the job was stopped', '', '', '', 1796284240.191191, 1796284240.2113845);
INSERT INTO public.instances VALUES ('job-5DA01CD18C336ACF45E59CE33BCE1755', 'a', 0, 'Waiting', 0, 0, '', '', '', '', NULL, '', NULL, '', '', '', '', '', NULL, NULL);


--
-- Data for Name: job_leases; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.job_leases VALUES ('job-3CA205E5CE4226F5BD7B800F1D8295FB', '', 1796284250.1435509, 5);
INSERT INTO public.job_leases VALUES ('job-B9FD5E6B57BCCBE39992E6CF13F4B364', '', 1796284250.1923046, 3);
INSERT INTO public.job_leases VALUES ('job-AC6CCD28DAF5FF1D9E7B9D11AF2A6FC8', '', 1796284250.2264688, 3);
INSERT INTO public.job_leases VALUES ('job-5DA01CD18C336ACF45E59CE33BCE1755', 'vm-688f004b', 1796284250.2922504, 1);


--
-- Data for Name: jobs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.jobs VALUES ('job-3CA205E5CE4226F5BD7B800F1D8295FB', 1796284240081001518, 'test-job', 1, 0, 'Finished', '', '{"Name": "test-job", "Priority": 0, "Type": "DAG", "JobFailOnInstanceFail": true, "AutoRelease": false, "Notification": {"Topic": {"Name": "t", "Endpoint": "http://127.0.0.1:47569/hook", "Events": ["OnJobFinished"]}}, "DAG": {"Tasks": {"a": {"Parameters": {"Command": {"CommandLine": "true", "PackagePath": "", "EnvVars": {}}, "StdoutRedirectPath": "", "StderrRedirectPath": "", "InputMappingConfig": {"Locale": "GBK", "Lock": false}}, "InstanceCount": 1, "MaxRetryCount": 0, "Timeout": 600, "AutoCluster": {"ImageId": "img-ubuntu", "InstanceType": "ecs.sn1.medium", "ReserveOnFail": false, "ECSImageId": "", "UserData": {}, "DependencyIsvService": ""}, "InputMapping": {}, "OutputMapping": {}, "LogMapping": {}, "ClusterId": ""}, "b": {"Parameters": {"Command": {"CommandLine": "true", "PackagePath": "", "EnvVars": {}}, "StdoutRedirectPath": "", "StderrRedirectPath": "", "InputMappingConfig": {"Locale": "GBK", "Lock": false}}, "InstanceCount": 1, "MaxRetryCount": 0, "Timeout": 600, "ClusterId": "cls-d8mnkzrbyoufi7tmd78q04", "InputMapping": {}, "OutputMapping": {}, "LogMapping": {}}}, "Dependencies": {"a": ["b"]}}, "Description": ""}', '9bd5d76a45d655b23e5b4933951e5d51e34b698fc47e8c8309db84f5b63e0d83', false, true, 1796284240.0802102, 1796284240.0990713, 1796284240.1525855);
INSERT INTO public.jobs VALUES ('job-B9FD5E6B57BCCBE39992E6CF13F4B364', 1796284240183286029, 'test-job', 1, 0, 'Stopped', 'StopJob', '{"Name": "test-job", "Priority": 0, "Type": "DAG", "JobFailOnInstanceFail": true, "AutoRelease": false, "DAG": {"Tasks": {"a": {"Parameters": {"Command": {"CommandLine": "sleep 60", "PackagePath": "", "EnvVars": {}}, "StdoutRedirectPath": "", "StderrRedirectPath": "", "InputMappingConfig": {"Locale": "GBK", "Lock": false}}, "InstanceCount": 1, "MaxRetryCount": 0, "Timeout": 600, "AutoCluster": {"ImageId": "img-ubuntu", "InstanceType": "ecs.sn1.medium", "ReserveOnFail": false, "ECSImageId": "", "UserData": {}, "DependencyIsvService": ""}, "InputMapping": {}, "OutputMapping": {}, "LogMapping": {}, "ClusterId": ""}}, "Dependencies": {}}, "Description": ""}', '7bd5a2d0c86627e8d5855826a5da0c67375e8f90a5de667a8dd4c30066b7557c', false, true, 1796284240.1832292, 1796284240.191191, 1796284240.2113845);
INSERT INTO public.jobs VALUES ('job-5DA01CD18C336ACF45E59CE33BCE1755', 1796284240291434184, 'test-job', 1, 0, 'Waiting', '', '{"Name": "test-job", "Priority": 0, "Type": "DAG", "JobFailOnInstanceFail": true, "AutoRelease": false, "DAG": {"Tasks": {"a": {"Parameters": {"Command": {"CommandLine": "true", "PackagePath": "", "EnvVars": {}}, "StdoutRedirectPath": "", "StderrRedirectPath": "", "InputMappingConfig": {"Locale": "GBK", "Lock": false}}, "InstanceCount": 1, "MaxRetryCount": 0, "Timeout": 600, "ClusterId": "cls-joxiq8awthgdx7nkgu0nm1", "InputMapping": {}, "OutputMapping": {}, "LogMapping": {}}}, "Dependencies": {}}, "Description": ""}', '19a55b99c6fcc9efd4c7f43340cb5f5ff1c888c0fdd9711b98b7579835235403', false, true, 1796284240.291168, NULL, NULL);


--
-- Data for Name: nonces; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.nonces VALUES ('3bf11290-eeee-11f1-954c-02fc00000001', 1796286040.049088);
INSERT INTO public.nonces VALUES ('3bf44596-eeee-11f1-954c-02fc00000001', 1796286040.0700562);
INSERT INTO public.nonces VALUES ('3bf4fedc-eeee-11f1-954c-02fc00000001', 1796286040.074201);
INSERT INTO public.nonces VALUES ('3bf806ea-eeee-11f1-954c-02fc00000001', 1796286040.105044);
INSERT INTO public.nonces VALUES ('3c02f3b6-eeee-11f1-954c-02fc00000001', 1796286040.169944);
INSERT INTO public.nonces VALUES ('3c04adfa-eeee-11f1-954c-02fc00000001', 1796286040.1811488);
INSERT INTO public.nonces VALUES ('3c069c78-eeee-11f1-954c-02fc00000001', 1796286040.1975265);
INSERT INTO public.nonces VALUES ('3c08ed7a-eeee-11f1-954c-02fc00000001', 1796286040.2077575);
INSERT INTO public.nonces VALUES ('3c0b1424-eeee-11f1-954c-02fc00000001', 1796286040.2190695);
INSERT INTO public.nonces VALUES ('3c0bff42-eeee-11f1-954c-02fc00000001', 1796286040.2288992);
INSERT INTO public.nonces VALUES ('3c14f868-eeee-11f1-954c-02fc00000001', 1796286040.2841833);
INSERT INTO public.nonces VALUES ('3c15d184-eeee-11f1-954c-02fc00000001', 1796286040.2892492);
INSERT INTO public.nonces VALUES ('3c16c198-eeee-11f1-954c-02fc00000001', 1796286040.2984722);


--
-- Data for Name: outbox; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.outbox VALUES (1, 'http://127.0.0.1:47569/hook', '{"Category": "Job", "JobId": "job-3CA205E5CE4226F5BD7B800F1D8295FB", "JobName": "test-job", "Event": "OnJobFinished", "State": "Finished", "TopicName": "t", "CreationTime": "2026-12-03T07:50:40.080210Z", "StartTime": "2026-12-03T07:50:40.099071Z", "EndTime": "2026-12-03T07:50:40.152586Z", "Priority": 0, "Message": ""}', 1, 1796284240.6768377, 'pending');


--
-- Data for Name: tasks; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.tasks VALUES ('job-3CA205E5CE4226F5BD7B800F1D8295FB', 'a', 0, 'Finished', '[]', 1, 0, 600, '', 'cls-28sidf2vpixzxlpcx71ejf', false, 0, 'ecs.sn1.medium', 1796284240.0990713, 1796284240.132253);
INSERT INTO public.tasks VALUES ('job-3CA205E5CE4226F5BD7B800F1D8295FB', 'b', 1, 'Finished', '["a"]', 1, 0, 600, 'cls-d8mnkzrbyoufi7tmd78q04', '', false, 0, '', 1796284240.1426551, 1796284240.1525855);
INSERT INTO public.tasks VALUES ('job-B9FD5E6B57BCCBE39992E6CF13F4B364', 'a', 0, 'Stopped', '[]', 1, 0, 600, '', 'cls-0q9flg1o1yfux70eb4u1it', false, 0, 'ecs.sn1.medium', 1796284240.191191, 1796284240.2113845);
INSERT INTO public.tasks VALUES ('job-5DA01CD18C336ACF45E59CE33BCE1755', 'a', 0, 'Waiting', '[]', 1, 0, 600, 'cls-joxiq8awthgdx7nkgu0nm1', '', false, 0, '', NULL, NULL);


--
-- Data for Name: tombstones; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.tombstones VALUES ('job-AC6CCD28DAF5FF1D9E7B9D11AF2A6FC8', 1796284240.2552252);


--
-- Data for Name: transitions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.transitions VALUES (1, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Instance', 'a', 0, 'Waiting', 'Running', 'launched', 1796284240.0990713);
INSERT INTO public.transitions VALUES (2, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Task', 'a', -1, 'Waiting', 'Running', 'instance 0 started', 1796284240.0990713);
INSERT INTO public.transitions VALUES (3, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Job', '', -1, 'Waiting', 'Running', 'task a started', 1796284240.0990713);
INSERT INTO public.transitions VALUES (4, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Instance', 'a', 0, 'Running', 'Finished', 'exit 0', 1796284240.132253);
INSERT INTO public.transitions VALUES (5, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Task', 'a', -1, 'Running', 'Finished', 'all instances ended', 1796284240.132253);
INSERT INTO public.transitions VALUES (6, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Instance', 'b', 0, 'Waiting', 'Running', 'launched', 1796284240.1426551);
INSERT INTO public.transitions VALUES (7, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Task', 'b', -1, 'Waiting', 'Running', 'instance 0 started', 1796284240.1426551);
INSERT INTO public.transitions VALUES (8, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Instance', 'b', 0, 'Running', 'Finished', 'exit 0', 1796284240.1525855);
INSERT INTO public.transitions VALUES (9, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Task', 'b', -1, 'Running', 'Finished', 'all instances ended', 1796284240.1525855);
INSERT INTO public.transitions VALUES (10, 'job-3CA205E5CE4226F5BD7B800F1D8295FB', 'Job', '', -1, 'Running', 'Finished', 'all tasks finished', 1796284240.1525855);
INSERT INTO public.transitions VALUES (11, 'job-B9FD5E6B57BCCBE39992E6CF13F4B364', 'Instance', 'a', 0, 'Waiting', 'Running', 'launched', 1796284240.191191);
INSERT INTO public.transitions VALUES (12, 'job-B9FD5E6B57BCCBE39992E6CF13F4B364', 'Task', 'a', -1, 'Waiting', 'Running', 'instance 0 started', 1796284240.191191);
INSERT INTO public.transitions VALUES (13, 'job-B9FD5E6B57BCCBE39992E6CF13F4B364', 'Job', '', -1, 'Waiting', 'Running', 'task a started', 1796284240.191191);
INSERT INTO public.transitions VALUES (14, 'job-B9FD5E6B57BCCBE39992E6CF13F4B364', 'Instance', 'a', 0, 'Running', 'Stopped', 'StopJob', 1796284240.2113845);
INSERT INTO public.transitions VALUES (15, 'job-B9FD5E6B57BCCBE39992E6CF13F4B364', 'Task', 'a', -1, 'Running', 'Stopped', 'StopJob', 1796284240.2113845);
INSERT INTO public.transitions VALUES (16, 'job-B9FD5E6B57BCCBE39992E6CF13F4B364', 'Job', '', -1, 'Running', 'Stopped', 'StopJob', 1796284240.2113845);
INSERT INTO public.transitions VALUES (20, 'job-AC6CCD28DAF5FF1D9E7B9D11AF2A6FC8', 'Instance', 'a', 0, 'Running', 'Finished', 'exit 0', 1796284240.2485476);
INSERT INTO public.transitions VALUES (21, 'job-AC6CCD28DAF5FF1D9E7B9D11AF2A6FC8', 'Task', 'a', -1, 'Running', 'Finished', 'all instances ended', 1796284240.2485476);
INSERT INTO public.transitions VALUES (22, 'job-AC6CCD28DAF5FF1D9E7B9D11AF2A6FC8', 'Job', '', -1, 'Running', 'Finished', 'all tasks finished', 1796284240.2485476);


--
-- Data for Name: vms; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.vms VALUES ('i-59zwtdqh5vnc58rhfx05', 'cls-d8mnkzrbyoufi7tmd78q04', 'g', 'Running', '', '', -1, 1796284240.0627394);


--
-- Name: outbox_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.outbox_id_seq', 1, true);


--
-- Name: transitions_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.transitions_id_seq', 22, true);


--
-- Name: clusters clusters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.clusters
    ADD CONSTRAINT clusters_pkey PRIMARY KEY (id);


--
-- Name: counters counters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.counters
    ADD CONSTRAINT counters_pkey PRIMARY KEY (name);


--
-- Name: groups groups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.groups
    ADD CONSTRAINT groups_pkey PRIMARY KEY (cluster_id, name);


--
-- Name: idempotency idempotency_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.idempotency
    ADD CONSTRAINT idempotency_pkey PRIMARY KEY (kind, token);


--
-- Name: instances instances_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.instances
    ADD CONSTRAINT instances_pkey PRIMARY KEY (job_id, task_name, instance_id);


--
-- Name: job_leases job_leases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_leases
    ADD CONSTRAINT job_leases_pkey PRIMARY KEY (job_id);


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);


--
-- Name: nonces nonces_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.nonces
    ADD CONSTRAINT nonces_pkey PRIMARY KEY (nonce);


--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);


--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (job_id, name);


--
-- Name: tombstones tombstones_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tombstones
    ADD CONSTRAINT tombstones_pkey PRIMARY KEY (job_id);


--
-- Name: transitions transitions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.transitions
    ADD CONSTRAINT transitions_pkey PRIMARY KEY (id);


--
-- Name: vms vms_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vms
    ADD CONSTRAINT vms_pkey PRIMARY KEY (id);


--
-- Name: ix_instances_state; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_instances_state ON public.instances USING btree (state);


--
-- Name: ix_job_leases_node; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_job_leases_node ON public.job_leases USING btree (node);


--
-- Name: ix_jobs_state_prio; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_jobs_state_prio ON public.jobs USING btree (state, priority, seq);


--
-- Name: ix_outbox_state; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_outbox_state ON public.outbox USING btree (state, next_at);


--
-- Name: ix_transitions_job; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_transitions_job ON public.transitions USING btree (job_id, id);


--
-- Name: ix_vms_cluster; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_vms_cluster ON public.vms USING btree (cluster_id, busy_job);


--
-- Name: nonces_by_expiry; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX nonces_by_expiry ON public.nonces USING btree (expires);


--
-- PostgreSQL database dump complete
--

\unrestrict JKRda9QNgB8ygKNf1x5BDwqE8NmYHaVNoEWjLHg2iPtf5SHiECZeWSWvY9KI1sc

