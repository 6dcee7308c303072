//! The sets of web pages this server renders, the supervisors' patrol
//! review (`/review`), the Navigator's desk (`/navigator`) and the DPO's
//! access log (`/audit`): each signs in
//! the same way, with its own session cookie scoped to its own path, its
//! own roles and its own words.

use crate::session::Pages;
use crate::token::Role;

#[derive(Debug)]
pub(crate) struct Site {
    pub pages: Pages,
    /// The path every page of the set is under.
    pub base: &'static str,
    /// The session cookie's name (its path is `base`).
    pub cookie: &'static str,
    pub roles: &'static [Role],
    /// "the patrol review".
    pub name: &'static str,
    /// Who may sign in, in words: "a supervisor or admin".
    pub who_may: &'static str,
    /// The role a dev token for these pages is made with.
    pub token_role: &'static str,
    /// The header's links: (path, label).
    pub nav: &'static [(&'static str, &'static str)],
    pub footer: &'static str,
}

pub(crate) const REVIEW: Site = Site {
    pages: Pages::Review,
    base: "/review",
    cookie: "guardian_review",
    roles: super::REVIEW_ROLES,
    name: "patrol review",
    who_may: "a supervisor or admin",
    token_role: "supervisor",
    nav: &[("/review", "Day"), ("/review/evaluation", "Evaluation")],
    footer: "Figures are computed by the force backend with the same rules as the compliance export. \
             No referral data is shown on these pages.",
};

pub(crate) const NAVIGATOR: Site = Site {
    pages: Pages::Navigator,
    base: "/navigator",
    cookie: "guardian_navigator",
    roles: &[Role::Navigator],
    name: "Navigator's desk",
    who_may: "a VRP Navigator",
    token_role: "navigator",
    nav: &[("/navigator", "Inbox"), ("/navigator/team", "Team")],
    footer: "Every page you open here is recorded in the force's access log, with your name and the time. \
             No map of a young person's location is shown.",
};

pub(crate) const AUDIT: Site = Site {
    pages: Pages::Audit,
    base: "/audit",
    cookie: "guardian_audit",
    roles: &[Role::Auditor],
    name: "access log",
    who_may: "an auditor (the force's data protection officer)",
    token_role: "auditor",
    nav: &[("/audit", "Access log")],
    footer: "Opening this page and downloading from it are themselves recorded in the access log.",
};

impl Site {
    /// The set a sign-in's `next` page belongs to (one callback serves
    /// both, so the provider knows one redirect URI).
    pub fn of(next: &str) -> &'static Site {
        if next.starts_with(NAVIGATOR.base) {
            &NAVIGATOR
        } else if next.starts_with(AUDIT.base) {
            &AUDIT
        } else {
            &REVIEW
        }
    }

    /// A `next` that stays on these pages of this site: no other host, no
    /// sign-in page, nothing a header or an attribute could be broken by.
    pub fn safe_next<'a>(&self, next: Option<&'a str>) -> &'a str
    where
        'static: 'a,
    {
        match next {
            Some(n)
                if n.starts_with(self.base)
                    && n[self.base.len()..].chars().next().is_none_or(|c| c == '/' || c == '?')
                    && !n.starts_with(&*format!("{}/login", self.base))
                    && !n.contains("//")
                    && n.chars().all(|c| c.is_ascii_alphanumeric() || "/?=&._:-%".contains(c)) =>
            {
                n
            }
            _ => self.base,
        }
    }
}
