BEGIN TRANSACTION;
CREATE TABLE clusters (
	id VARCHAR(64) NOT NULL, 
	seq BIGINT NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	kind VARCHAR(8) NOT NULL, 
	owner_id BIGINT NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	description JSON NOT NULL, 
	job_id VARCHAR(64) NOT NULL, 
	task_name VARCHAR(128) NOT NULL, 
	creation_time FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "clusters" VALUES('cls-8q52sj0rc65wiymfo885l3',1796284237974372199,'pool','named',1,'Active','{"Name": "pool", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 1, "InstanceType": "ecs.sn1.medium"}}, "Description": "", "InstanceType": "", "UserData": {}, "EnvVars": {}, "InputMapping": {}, "Bootstrap": ""}','','',1.79628423797437834739e+09);
INSERT INTO "clusters" VALUES('cls-u883lxqoonlzyba81y46n9',1796284237983342460,'empty','named',1,'Active','{"Name": "empty", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 0, "InstanceType": "ecs.sn1.medium"}}, "Description": "", "InstanceType": "", "UserData": {}, "EnvVars": {}, "InputMapping": {}, "Bootstrap": ""}','','',1.79628423798334527008e+09);
CREATE TABLE counters (
	name VARCHAR(32) NOT NULL, 
	value BIGINT NOT NULL, 
	PRIMARY KEY (name)
);
INSERT INTO "counters" VALUES('jobs',3);
CREATE TABLE groups (
	cluster_id VARCHAR(64) NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	desired INTEGER NOT NULL, 
	instance_type VARCHAR(64) NOT NULL, 
	spec JSON NOT NULL, 
	PRIMARY KEY (cluster_id, name)
);
INSERT INTO "groups" VALUES('cls-8q52sj0rc65wiymfo885l3','g',1,'ecs.sn1.medium','{"DesiredVMCount": 1, "InstanceType": "ecs.sn1.medium"}');
INSERT INTO "groups" VALUES('cls-u883lxqoonlzyba81y46n9','g',0,'ecs.sn1.medium','{"DesiredVMCount": 0, "InstanceType": "ecs.sn1.medium"}');
CREATE TABLE idempotency (
	kind VARCHAR(16) NOT NULL, 
	token VARCHAR(128) NOT NULL, 
	resource_id VARCHAR(64) NOT NULL, 
	body_hash VARCHAR(64) NOT NULL, 
	created FLOAT NOT NULL, 
	PRIMARY KEY (kind, token)
);
INSERT INTO "idempotency" VALUES('cluster','previous_cluster','cls-8q52sj0rc65wiymfo885l3','90daab600604b0023b16bdc9a01b001366e56bc5e51a0ea77f4d42bd3965c481',0.0);
INSERT INTO "idempotency" VALUES('job','previous_job','job-6C01C22D601B10335C4BEDD58723C6FE','449c3ae9e908f1cc9d668c4068c131e0ccd751bcefaadea36cfa00edd2e5b4c2',1.79628423799185085295e+09);
CREATE TABLE instances (
	job_id VARCHAR(64) NOT NULL, 
	task_name VARCHAR(128) NOT NULL, 
	instance_id INTEGER NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	attempt INTEGER NOT NULL, 
	retry_count INTEGER NOT NULL, 
	vm_id VARCHAR(64) NOT NULL, 
	node VARCHAR(128) NOT NULL, 
	node_ip VARCHAR(64) NOT NULL, 
	owner_node VARCHAR(64) NOT NULL, 
	pid INTEGER, 
	sandbox_path TEXT NOT NULL, 
	exit_code INTEGER, 
	error_code VARCHAR(64) NOT NULL, 
	error_message TEXT NOT NULL, 
	detail TEXT NOT NULL, 
	stdout_object TEXT NOT NULL, 
	stderr_object TEXT NOT NULL, 
	start_time FLOAT, 
	end_time FLOAT, 
	PRIMARY KEY (job_id, task_name, instance_id)
);
INSERT INTO "instances" VALUES('job-6C01C22D601B10335C4BEDD58723C6FE','a',0,'Finished',1,0,'i-bqfxceidkhw14bnw51jn','vm','127.0.0.1','c3cd9e7b1835',NULL,'',0,'','','','','',1.79628423800030183788e+09,1.79628423803502583499e+09);
INSERT INTO "instances" VALUES('job-6C01C22D601B10335C4BEDD58723C6FE','b',0,'Finished',1,0,'i-wnzf5bdtkj9e2ri1nts7','vm','127.0.0.1','c3cd9e7b1835',NULL,'',0,'','','','','',1.79628423804241919522e+09,1.79628423806020617479e+09);
INSERT INTO "instances" VALUES('job-70F1142B3968E8249057E928EBF412FD','a',0,'Stopped',1,0,'i-o1ddx7o4rjdkfdl3wr2c','vm','127.0.0.1','c3cd9e7b1835',NULL,'',NULL,'InstanceStopped','killed because the job was stopped','','','',1.79628423813571047778e+09,1.79628423814151310915e+09);
INSERT INTO "instances" VALUES('job-4077B96DB592A3AB8B9CEADFAE0379B3','a',0,'Waiting',0,0,'','','','',NULL,'',NULL,'','','','','',NULL,NULL);
CREATE TABLE job_leases (
	job_id VARCHAR(64) NOT NULL, 
	node VARCHAR(64) NOT NULL, 
	expires FLOAT NOT NULL, 
	version BIGINT NOT NULL, 
	PRIMARY KEY (job_id)
);
CREATE TABLE jobs (
	id VARCHAR(64) NOT NULL, 
	seq BIGINT NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	owner_id BIGINT NOT NULL, 
	priority INTEGER NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	message TEXT NOT NULL, 
	description JSON NOT NULL, 
	spec_hash VARCHAR(64) NOT NULL, 
	auto_release BOOLEAN NOT NULL, 
	fail_on_instance_fail BOOLEAN NOT NULL, 
	creation_time FLOAT NOT NULL, 
	start_time FLOAT, 
	end_time FLOAT, 
	PRIMARY KEY (id)
);
INSERT INTO "jobs" VALUES('job-6C01C22D601B10335C4BEDD58723C6FE',1796284237992487756,'test-job',1,0,'Finished','','{"Name": "test-job", "Priority": 0, "Type": "DAG", "JobFailOnInstanceFail": true, "AutoRelease": false, "Notification": {"Topic": {"Name": "t", "Endpoint": "http://127.0.0.1:49219/hook", "Events": ["OnJobFinished"]}}, "DAG": {"Tasks": {"a": {"Parameters": {"Command": {"CommandLine": "true", "PackagePath": "", "EnvVars": {}}, "StdoutRedirectPath": "", "StderrRedirectPath": "", "InputMappingConfig": {"Locale": "GBK", "Lock": false}}, "InstanceCount": 1, "MaxRetryCount": 0, "Timeout": 600, "AutoCluster": {"ImageId": "img-ubuntu", "InstanceType": "ecs.sn1.medium", "ReserveOnFail": false, "ECSImageId": "", "UserData": {}, "DependencyIsvService": ""}, "InputMapping": {}, "OutputMapping": {}, "LogMapping": {}, "ClusterId": ""}, "b": {"Parameters": {"Command": {"CommandLine": "true", "PackagePath": "", "EnvVars": {}}, "StdoutRedirectPath": "", "StderrRedirectPath": "", "InputMappingConfig": {"Locale": "GBK", "Lock": false}}, "InstanceCount": 1, "MaxRetryCount": 0, "Timeout": 600, "ClusterId": "cls-8q52sj0rc65wiymfo885l3", "InputMapping": {}, "OutputMapping": {}, "LogMapping": {}}}, "Dependencies": {"a": ["b"]}}, "Description": ""}','449c3ae9e908f1cc9d668c4068c131e0ccd751bcefaadea36cfa00edd2e5b4c2',0,1,1.79628423799185085295e+09,1.79628423800030183788e+09,1.79628423806020617479e+09);
INSERT INTO "jobs" VALUES('job-70F1142B3968E8249057E928EBF412FD',1796284238134196419,'test-job',1,0,'Stopped','StopJob','{"Name": "test-job", "Priority": 0, "Type": "DAG", "JobFailOnInstanceFail": true, "AutoRelease": false, "DAG": {"Tasks": {"a": {"Parameters": {"Command": {"CommandLine": "sleep 60", "PackagePath": "", "EnvVars": {}}, "StdoutRedirectPath": "", "StderrRedirectPath": "", "InputMappingConfig": {"Locale": "GBK", "Lock": false}}, "InstanceCount": 1, "MaxRetryCount": 0, "Timeout": 600, "AutoCluster": {"ImageId": "img-ubuntu", "InstanceType": "ecs.sn1.medium", "ReserveOnFail": false, "ECSImageId": "", "UserData": {}, "DependencyIsvService": ""}, "InputMapping": {}, "OutputMapping": {}, "LogMapping": {}, "ClusterId": ""}}, "Dependencies": {}}, "Description": ""}','7bd5a2d0c86627e8d5855826a5da0c67375e8f90a5de667a8dd4c30066b7557c',0,1,1.79628423813414907455e+09,1.79628423813571047778e+09,1.79628423814151310915e+09);
INSERT INTO "jobs" VALUES('job-4077B96DB592A3AB8B9CEADFAE0379B3',1796284238203098984,'test-job',1,0,'Waiting','','{"Name": "test-job", "Priority": 0, "Type": "DAG", "JobFailOnInstanceFail": true, "AutoRelease": false, "DAG": {"Tasks": {"a": {"Parameters": {"Command": {"CommandLine": "true", "PackagePath": "", "EnvVars": {}}, "StdoutRedirectPath": "", "StderrRedirectPath": "", "InputMappingConfig": {"Locale": "GBK", "Lock": false}}, "InstanceCount": 1, "MaxRetryCount": 0, "Timeout": 600, "ClusterId": "cls-u883lxqoonlzyba81y46n9", "InputMapping": {}, "OutputMapping": {}, "LogMapping": {}}}, "Dependencies": {}}, "Description": ""}','cda1e55542cb568a76f10c43a0ca08c576783e6ea59bcee934a8eac933704002',0,1,1.79628423820299959186e+09,NULL,NULL);
CREATE TABLE nonces (
	nonce VARCHAR(128) NOT NULL, 
	expires FLOAT NOT NULL, 
	PRIMARY KEY (nonce)
);
INSERT INTO "nonces" VALUES('3ab16bb4-eeee-11f1-954c-02fc00000001',1.79628603795437121392e+09);
INSERT INTO "nonces" VALUES('3ab5b8a4-eeee-11f1-954c-02fc00000001',1.7962860379821186065e+09);
INSERT INTO "nonces" VALUES('3ab6d59a-eeee-11f1-954c-02fc00000001',1.79628603798918318745e+09);
INSERT INTO "nonces" VALUES('3ab884a8-eeee-11f1-954c-02fc00000001',1.79628603800864434245e+09);
INSERT INTO "nonces" VALUES('3ac271ac-eeee-11f1-954c-02fc00000001',1.79628603812953329082e+09);
INSERT INTO "nonces" VALUES('3accc4e0-eeee-11f1-954c-02fc00000001',1.79628603813331532475e+09);
INSERT INTO "nonces" VALUES('3acd52f2-eeee-11f1-954c-02fc00000001',1.79628603813775420188e+09);
INSERT INTO "nonces" VALUES('3acdfa7c-eeee-11f1-954c-02fc00000001',1.79628603814063978198e+09);
INSERT INTO "nonces" VALUES('3ace6e3a-eeee-11f1-954c-02fc00000001',1.79628603814360690116e+09);
INSERT INTO "nonces" VALUES('3acee93c-eeee-11f1-954c-02fc00000001',1.79628603814667868617e+09);
INSERT INTO "nonces" VALUES('3ad6e93e-eeee-11f1-954c-02fc00000001',1.79628603819942831995e+09);
INSERT INTO "nonces" VALUES('3ad75a36-eeee-11f1-954c-02fc00000001',1.7962860382020931244e+09);
INSERT INTO "nonces" VALUES('3ad7bc6a-eeee-11f1-954c-02fc00000001',1.79628603820448875432e+09);
CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	endpoint TEXT NOT NULL, 
	payload JSON NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_at FLOAT NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "outbox" VALUES(1,'http://127.0.0.1:49219/hook','{"Category": "Job", "JobId": "job-6C01C22D601B10335C4BEDD58723C6FE", "JobName": "test-job", "Event": "OnJobFinished", "State": "Finished", "TopicName": "t", "CreationTime": "2026-12-03T07:50:37.991851Z", "StartTime": "2026-12-03T07:50:38.000302Z", "EndTime": "2026-12-03T07:50:38.060206Z", "Priority": 0, "Message": ""}',1,1.79628423863208842273e+09,'pending');
CREATE TABLE tasks (
	job_id VARCHAR(64) NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	ordinal INTEGER NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	upstream JSON NOT NULL, 
	instance_count INTEGER NOT NULL, 
	max_retry INTEGER NOT NULL, 
	timeout_s INTEGER NOT NULL, 
	cluster_id VARCHAR(64) NOT NULL, 
	auto_cluster_id VARCHAR(64) NOT NULL, 
	reserve_on_fail BOOLEAN NOT NULL, 
	reserved_vm_count INTEGER NOT NULL, 
	instance_type VARCHAR(64) NOT NULL, 
	start_time FLOAT, 
	end_time FLOAT, 
	PRIMARY KEY (job_id, name)
);
INSERT INTO "tasks" VALUES('job-6C01C22D601B10335C4BEDD58723C6FE','a',0,'Finished','[]',1,0,600,'','cls-wa4se45vl35ov98nsqahpn',0,0,'ecs.sn1.medium',1.79628423800030183788e+09,1.79628423803502583499e+09);
INSERT INTO "tasks" VALUES('job-6C01C22D601B10335C4BEDD58723C6FE','b',1,'Finished','["a"]',1,0,600,'cls-8q52sj0rc65wiymfo885l3','',0,0,'',1.79628423804241919522e+09,1.79628423806020617479e+09);
INSERT INTO "tasks" VALUES('job-70F1142B3968E8249057E928EBF412FD','a',0,'Stopped','[]',1,0,600,'','cls-jvzivsihmtkbmry43e45su',0,0,'ecs.sn1.medium',1.79628423813571047778e+09,1.79628423814151310915e+09);
INSERT INTO "tasks" VALUES('job-4077B96DB592A3AB8B9CEADFAE0379B3','a',0,'Waiting','[]',1,0,600,'cls-u883lxqoonlzyba81y46n9','',0,0,'',NULL,NULL);
CREATE TABLE tombstones (
	job_id VARCHAR(64) NOT NULL, 
	released_at FLOAT NOT NULL, 
	PRIMARY KEY (job_id)
);
INSERT INTO "tombstones" VALUES('job-99568ABBE593723FBCF01C7C9367DED9',1.79628423816560029986e+09);
CREATE TABLE transitions (
	id INTEGER NOT NULL, 
	job_id VARCHAR(64) NOT NULL, 
	scope VARCHAR(16) NOT NULL, 
	task VARCHAR(128) NOT NULL, 
	instance INTEGER NOT NULL, 
	from_state VARCHAR(16) NOT NULL, 
	to_state VARCHAR(16) NOT NULL, 
	cause TEXT NOT NULL, 
	at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "transitions" VALUES(1,'job-6C01C22D601B10335C4BEDD58723C6FE','Instance','a',0,'Waiting','Running','launched',1.79628423800030183788e+09);
INSERT INTO "transitions" VALUES(2,'job-6C01C22D601B10335C4BEDD58723C6FE','Task','a',-1,'Waiting','Running','instance 0 started',1.79628423800030183788e+09);
INSERT INTO "transitions" VALUES(3,'job-6C01C22D601B10335C4BEDD58723C6FE','Job','',-1,'Waiting','Running','task a started',1.79628423800030183788e+09);
INSERT INTO "transitions" VALUES(4,'job-6C01C22D601B10335C4BEDD58723C6FE','Instance','a',0,'Running','Finished','exit 0',1.79628423803502583499e+09);
INSERT INTO "transitions" VALUES(5,'job-6C01C22D601B10335C4BEDD58723C6FE','Task','a',-1,'Running','Finished','all instances ended',1.79628423803502583499e+09);
INSERT INTO "transitions" VALUES(6,'job-6C01C22D601B10335C4BEDD58723C6FE','Instance','b',0,'Waiting','Running','launched',1.79628423804241919522e+09);
INSERT INTO "transitions" VALUES(7,'job-6C01C22D601B10335C4BEDD58723C6FE','Task','b',-1,'Waiting','Running','instance 0 started',1.79628423804241919522e+09);
INSERT INTO "transitions" VALUES(8,'job-6C01C22D601B10335C4BEDD58723C6FE','Instance','b',0,'Running','Finished','exit 0',1.79628423806020617479e+09);
INSERT INTO "transitions" VALUES(9,'job-6C01C22D601B10335C4BEDD58723C6FE','Task','b',-1,'Running','Finished','all instances ended',1.79628423806020617479e+09);
INSERT INTO "transitions" VALUES(10,'job-6C01C22D601B10335C4BEDD58723C6FE','Job','',-1,'Running','Finished','all tasks finished',1.79628423806020617479e+09);
INSERT INTO "transitions" VALUES(11,'job-70F1142B3968E8249057E928EBF412FD','Instance','a',0,'Waiting','Running','launched',1.79628423813571047778e+09);
INSERT INTO "transitions" VALUES(12,'job-70F1142B3968E8249057E928EBF412FD','Task','a',-1,'Waiting','Running','instance 0 started',1.79628423813571047778e+09);
INSERT INTO "transitions" VALUES(13,'job-70F1142B3968E8249057E928EBF412FD','Job','',-1,'Waiting','Running','task a started',1.79628423813571047778e+09);
INSERT INTO "transitions" VALUES(14,'job-70F1142B3968E8249057E928EBF412FD','Instance','a',0,'Running','Stopped','StopJob',1.79628423814151310915e+09);
INSERT INTO "transitions" VALUES(15,'job-70F1142B3968E8249057E928EBF412FD','Task','a',-1,'Running','Stopped','StopJob',1.79628423814151310915e+09);
INSERT INTO "transitions" VALUES(16,'job-70F1142B3968E8249057E928EBF412FD','Job','',-1,'Running','Stopped','StopJob',1.79628423814151310915e+09);
INSERT INTO "transitions" VALUES(17,'job-99568ABBE593723FBCF01C7C9367DED9','Instance','a',0,'Running','Finished','exit 0',1.79628423816339325902e+09);
INSERT INTO "transitions" VALUES(18,'job-99568ABBE593723FBCF01C7C9367DED9','Task','a',-1,'Running','Finished','all instances ended',1.79628423816339325902e+09);
INSERT INTO "transitions" VALUES(19,'job-99568ABBE593723FBCF01C7C9367DED9','Job','',-1,'Running','Finished','all tasks finished',1.79628423816339325902e+09);
CREATE TABLE vms (
	id VARCHAR(64) NOT NULL, 
	cluster_id VARCHAR(64) NOT NULL, 
	group_name VARCHAR(128) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	busy_job VARCHAR(64) NOT NULL, 
	busy_task VARCHAR(128) NOT NULL, 
	busy_instance INTEGER NOT NULL, 
	creation_time FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "vms" VALUES('i-wnzf5bdtkj9e2ri1nts7','cls-8q52sj0rc65wiymfo885l3','g','Running','','',-1,1.79628423797437834739e+09);
CREATE INDEX ix_jobs_state_prio ON jobs (state, priority, seq);
CREATE INDEX ix_instances_state ON instances (state);
CREATE INDEX ix_vms_cluster ON vms (cluster_id, busy_job);
CREATE INDEX ix_transitions_job ON transitions (job_id, id);
CREATE INDEX ix_outbox_state ON outbox (state, next_at);
CREATE INDEX nonces_by_expiry ON nonces (expires);
CREATE INDEX ix_job_leases_node ON job_leases (node);
COMMIT;
