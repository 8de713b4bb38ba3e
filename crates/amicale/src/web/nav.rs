//! The navigation: what a signed-in user sees in the top bar and, for
//! staff, in the sidebar grouped by task. Each entry carries the right its
//! page requires, so a menu never offers a page that would answer 403, and
//! a module that is not built yet has no entry at all. The shell knows the
//! features' addresses only, not their code.

use amicale_kernel::permissions::{Level, Module};

use crate::web::extract::{Admin, Member, Permission, grants};
use crate::web::session::SessionUser;

/// One entry: its address, its label's locale key, who may follow it.
pub struct Link {
    pub href: &'static str,
    pub key: &'static str,
    pub allowed: fn(&SessionUser) -> bool,
}

/// A group of staff entries under a heading.
pub struct Section {
    pub key: &'static str,
    pub links: &'static [Link],
}

fn anyone(_: &SessionUser) -> bool {
    true
}

fn member(s: &SessionUser) -> bool {
    Member::allows(s)
}

fn admin(s: &SessionUser) -> bool {
    Admin::allows(s)
}

fn can(module: Module, level: Level) -> impl Fn(&SessionUser) -> bool {
    move |s| grants(s, module, level)
}

/// The member's top bar.
pub const TOP: &[Link] = &[
    Link {
        href: "/",
        key: "nav-home",
        allowed: anyone,
    },
    Link {
        href: "/events",
        key: "nav-events",
        allowed: anyone,
    },
    Link {
        href: "/directory",
        key: "nav-directory",
        allowed: member,
    },
    Link {
        href: "/lists",
        key: "nav-lists",
        allowed: member,
    },
];

/// The staff sidebar, by task. Each entry's right is the one its page's
/// handler requires (a test follows every entry for each shipped profile).
pub const STAFF: &[Section] = &[
    Section {
        key: "nav-group-people",
        links: &[
            Link {
                href: "/admin/people",
                key: "nav-people",
                allowed: |s| can(Module::People, Level::Consult)(s),
            },
            Link {
                href: "/admin/registrations",
                key: "registrations-title",
                allowed: |s| can(Module::Registrations, Level::Modify)(s),
            },
            Link {
                href: "/admin/people/duplicates",
                key: "nav-duplicates",
                allowed: |s| can(Module::People, Level::Modify)(s),
            },
        ],
    },
    Section {
        key: "nav-group-communication",
        links: &[
            Link {
                href: "/admin/templates",
                key: "admin-templates",
                allowed: |s| can(Module::Templates, Level::Modify)(s),
            },
            Link {
                href: "/admin/campaigns",
                key: "campaigns-title",
                allowed: |s| can(Module::Sends, Level::Create)(s),
            },
            Link {
                href: "/admin/rules",
                key: "rules-title",
                allowed: |s| can(Module::Sends, Level::Create)(s),
            },
            Link {
                href: "/admin/sends",
                key: "sends-title",
                allowed: |s| can(Module::Sends, Level::Create)(s),
            },
            Link {
                href: "/admin/reports",
                key: "reports-title",
                allowed: |s| can(Module::Sends, Level::Consult)(s),
            },
            Link {
                href: "/sent",
                key: "nav-sent",
                allowed: |s| can(Module::Sends, Level::Modify)(s),
            },
        ],
    },
    Section {
        key: "nav-group-events",
        links: &[
            Link {
                href: "/admin/events",
                key: "events-title",
                allowed: |s| can(Module::Events, Level::Consult)(s),
            },
            Link {
                href: "/admin/agenda",
                key: "nav-agenda",
                allowed: |s| can(Module::Events, Level::Consult)(s),
            },
        ],
    },
    Section {
        key: "nav-group-settings",
        links: &[
            Link {
                href: "/admin",
                key: "nav-admin",
                allowed: admin,
            },
            Link {
                href: "/admin/users",
                key: "nav-users",
                allowed: admin,
            },
            Link {
                href: "/admin/profiles",
                key: "profiles-title",
                allowed: admin,
            },
            Link {
                href: "/admin/transports",
                key: "transports-title",
                allowed: admin,
            },
            Link {
                href: "/admin/identities",
                key: "identities-title",
                allowed: admin,
            },
            Link {
                href: "/admin/sms",
                key: "sms-title",
                allowed: admin,
            },
            Link {
                href: "/admin/outbox",
                key: "admin-outbox",
                allowed: admin,
            },
            Link {
                href: "/admin/schedule",
                key: "admin-schedule",
                allowed: admin,
            },
        ],
    },
];

/// Every address the menus can show, for the test that follows them all.
pub fn all_links() -> impl Iterator<Item = &'static Link> {
    TOP.iter().chain(STAFF.iter().flat_map(|s| s.links.iter()))
}
