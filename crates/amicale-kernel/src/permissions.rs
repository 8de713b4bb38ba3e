//! Permission profiles: for each module, whether it shows in the
//! navigation, an access level (none ⊂ consult ⊂ modify ⊂ create) and a
//! scope (all, own site, own team, assigned to me). A staff user holds one
//! profile; administrators hold every right.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The modules a profile speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    Directory,
    People,
    Templates,
    Sends,
    Registrations,
    Administration,
    Events,
}

impl Module {
    pub const ALL: [Module; 7] = [
        Module::Directory,
        Module::People,
        Module::Templates,
        Module::Sends,
        Module::Registrations,
        Module::Administration,
        Module::Events,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Directory => "directory",
            Module::People => "people",
            Module::Templates => "templates",
            Module::Sends => "sends",
            Module::Registrations => "registrations",
            Module::Administration => "administration",
            Module::Events => "events",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    None,
    Consult,
    Modify,
    Create,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::None, Level::Consult, Level::Modify, Level::Create];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Consult => "consult",
            Level::Modify => "modify",
            Level::Create => "create",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    All,
    Site,
    Team,
    Assigned,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::All, Scope::Site, Scope::Team, Scope::Assigned];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Site => "site",
            Scope::Team => "team",
            Scope::Assigned => "assigned",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Right {
    pub visible: bool,
    pub level: Level,
    pub scope: Scope,
}

/// A profile's matrix; a module missing from it is `none`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Matrix(pub BTreeMap<Module, Right>);

impl Matrix {
    pub fn get(&self, m: Module) -> Right {
        self.0.get(&m).copied().unwrap_or_default()
    }

    pub fn allows(&self, m: Module, at_least: Level) -> bool {
        at_least != Level::None && self.get(m).level >= at_least
    }

    pub fn with(mut self, m: Module, level: Level, scope: Scope) -> Self {
        self.0.insert(
            m,
            Right {
                visible: level != Level::None,
                level,
                scope,
            },
        );
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_include_each_other() {
        assert!(Level::Create > Level::Modify && Level::Modify > Level::Consult);
        let m = Matrix::default().with(Module::People, Level::Modify, Scope::Site);
        assert!(m.allows(Module::People, Level::Consult));
        assert!(m.allows(Module::People, Level::Modify));
        assert!(!m.allows(Module::People, Level::Create));
        assert!(!m.allows(Module::Templates, Level::Consult));
        assert!(
            !m.allows(Module::Templates, Level::None),
            "none never grants"
        );
    }

    #[test]
    fn the_matrix_round_trips_as_json() {
        let m = Matrix::default()
            .with(Module::People, Level::Modify, Scope::Assigned)
            .with(Module::Events, Level::Create, Scope::All);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Matrix>(&json).unwrap(), m);
    }
}
