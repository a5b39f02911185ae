//! CLI tests through the real binary, one integration-test binary with a
//! module per command (and the cross-cutting adversarial, reliability and
//! truth suites); shared fixtures in `env`.

mod adversarial;
mod audit;
mod check;
mod cmdb;
mod config;
mod correct;
mod db;
mod demo;
mod due;
mod env;
mod events;
mod exit_codes;
mod global;
mod health;
mod hooks;
mod judgement;
mod kpi;
mod macd;
mod mail;
mod pause;
mod plan;
mod reach;
mod readme;
mod reliability;
mod review;
mod roles;
mod run;
mod tasks;
mod team;
mod terminal;
mod truth;
mod vocabulary;
mod wizard;
