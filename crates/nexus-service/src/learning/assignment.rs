//! Peer review assignment: on every hand-in (continuously, not at the deadline), each
//! submission of the deliverable gets its reviewers from the learners who handed in the
//! same deliverable, with open work balanced across them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use nexus_core::error::AppResult;
use nexus_core::learning::AssignmentStatus;
use nexus_db::DbTx;
use nexus_db::submissions::{self as repo, AssignmentRow, NewAssignment};
use uuid::Uuid;

use super::cohorts::Loaded;

/// A new assignment, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub id: Uuid,
    pub submission: Uuid,
    pub reviewer: Uuid,
    pub author: Uuid,
}

/// What a hand-in changes in the assignments: open ones moved to the newcomer, and new
/// ones.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// (assignment, its new reviewer).
    pub moved: Vec<(Uuid, Uuid)>,
    pub new: Vec<Planned>,
}

/// Gives every submission of `deliverable` in the cohort up to `want` peer reviewers,
/// from the learners who handed in the same deliverable, and stores the plan.
pub(crate) async fn assign_peers(
    tx: &mut DbTx,
    cohort: &Loaded,
    deliverable: &str,
    newcomer: Option<Uuid>,
    want: usize,
    now: DateTime<Utc>,
) -> AppResult<Vec<Planned>> {
    if want == 0 {
        return Ok(Vec::new());
    }
    let submitted = repo::submitted(&mut *tx, cohort.row.id, deliverable).await?;
    let existing = repo::cohort_assignments(&mut *tx, cohort.row.id).await?;
    let subs: Vec<(Uuid, Uuid)> = submitted.iter().map(|s| (s.id, s.learner_id)).collect();
    let plan = plan_assignments(&subs, &existing, want, newcomer);
    let mut told = Vec::new();
    for (assignment, reviewer) in &plan.moved {
        repo::move_assignment(&mut *tx, *assignment, *reviewer, now).await?;
        if let Some(a) = existing.iter().find(|a| a.id == *assignment) {
            told.push(Planned {
                id: a.id,
                submission: a.submission_id,
                reviewer: *reviewer,
                author: a.author_id,
            });
        }
    }
    for p in &plan.new {
        repo::insert_assignment(
            &mut *tx,
            &NewAssignment {
                id: p.id,
                submission: p.submission,
                cohort: cohort.row.id,
                reviewer: p.reviewer,
                author: p.author,
                now,
            },
        )
        .await?;
    }
    told.extend(plan.new);
    Ok(told)
}

/// Plans peer review assignments, continuously (on every hand-in, not at the deadline).
///
/// `subs` are a deliverable's submissions (submission, author), first hand-in first;
/// `existing` every assignment in the cohort; `newcomer` the learner whose first hand-in
/// this is. Each submission gets up to `want` reviewers from the other authors, never its
/// own author nor someone already assigned to it.
///
/// Balance: the load of a reviewer is their open assignments. A newcomer first takes
/// over open assignments from reviewers who hold two or more above them (the heaviest
/// first), so that early submitters, who were the only candidates for a while, do not
/// stay loaded while late ones review nothing; then each submission short of reviewers
/// takes the least loaded eligible author, then the one paired with its author least
/// often (either way round), then the one with the fewest assignments in all, then the
/// earliest account. So open work stays within one of the mean, every submission gets
/// its reviewers once enough others have handed in, late ones included, and the plan is
/// the same whoever computes it.
pub(crate) fn plan_assignments(
    subs: &[(Uuid, Uuid)],
    existing: &[AssignmentRow],
    want: usize,
    newcomer: Option<Uuid>,
) -> Plan {
    let mut open: HashMap<Uuid, usize> = HashMap::new();
    let mut total: HashMap<Uuid, usize> = HashMap::new();
    let mut pairs: HashMap<(Uuid, Uuid), usize> = HashMap::new();
    let mut of_sub: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    let pair = |a: Uuid, b: Uuid| if a < b { (a, b) } else { (b, a) };
    for a in existing {
        if a.status == AssignmentStatus::Open {
            *open.entry(a.reviewer_id).or_default() += 1;
        }
        *total.entry(a.reviewer_id).or_default() += 1;
        *pairs.entry(pair(a.reviewer_id, a.author_id)).or_default() += 1;
        of_sub
            .entry(a.submission_id)
            .or_default()
            .insert(a.reviewer_id);
    }
    let mut plan = Plan::default();
    let author_of: HashMap<Uuid, Uuid> = subs.iter().copied().collect();
    if let Some(newcomer) = newcomer {
        let mut movable: Vec<&AssignmentRow> = existing
            .iter()
            .filter(|a| {
                a.status == AssignmentStatus::Open && author_of.contains_key(&a.submission_id)
            })
            .collect();
        while open.get(&newcomer).copied().unwrap_or(0) < want {
            let mine = open.get(&newcomer).copied().unwrap_or(0);
            let pick = movable
                .iter()
                .enumerate()
                .filter(|(_, a)| {
                    a.author_id != newcomer
                        && !of_sub
                            .get(&a.submission_id)
                            .is_some_and(|r| r.contains(&newcomer))
                        && open.get(&a.reviewer_id).copied().unwrap_or(0) >= mine + 2
                })
                .max_by_key(|(_, a)| (open.get(&a.reviewer_id).copied().unwrap_or(0), a.id))
                .map(|(i, _)| i);
            let Some(i) = pick else { break };
            let a = movable.swap_remove(i);
            *open.entry(a.reviewer_id).or_default() -= 1;
            *open.entry(newcomer).or_default() += 1;
            *total.entry(newcomer).or_default() += 1;
            *pairs.entry(pair(newcomer, a.author_id)).or_default() += 1;
            let reviewers = of_sub.entry(a.submission_id).or_default();
            reviewers.remove(&a.reviewer_id);
            reviewers.insert(newcomer);
            plan.moved.push((a.id, newcomer));
        }
    }
    let authors: Vec<Uuid> = subs.iter().map(|(_, author)| *author).collect();
    for (sub, author) in subs {
        let assigned = of_sub.entry(*sub).or_default();
        while assigned.len() < want {
            let pick = authors
                .iter()
                .filter(|r| *r != author && !assigned.contains(r))
                .min_by_key(|r| {
                    (
                        open.get(r).copied().unwrap_or(0),
                        pairs.get(&pair(**r, *author)).copied().unwrap_or(0),
                        total.get(r).copied().unwrap_or(0),
                        **r,
                    )
                })
                .copied();
            let Some(reviewer) = pick else { break };
            assigned.insert(reviewer);
            *open.entry(reviewer).or_default() += 1;
            *total.entry(reviewer).or_default() += 1;
            *pairs.entry(pair(reviewer, *author)).or_default() += 1;
            plan.new.push(Planned {
                id: Uuid::now_v7(),
                submission: *sub,
                reviewer,
                author: *author,
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::now_v7()).collect()
    }

    fn row(id: Uuid, submission: Uuid, reviewer: Uuid, author: Uuid) -> AssignmentRow {
        AssignmentRow {
            id,
            submission_id: submission,
            reviewer_id: reviewer,
            author_id: author,
            status: AssignmentStatus::Open,
            assigned_at: Utc::now(),
        }
    }

    /// Applies a plan to the stored rows, as `assign_peers` does.
    fn apply(rows: &mut Vec<AssignmentRow>, plan: Plan) {
        for (id, reviewer) in plan.moved {
            let a = rows.iter_mut().find(|a| a.id == id).unwrap();
            a.reviewer_id = reviewer;
        }
        rows.extend(
            plan.new
                .into_iter()
                .map(|p| row(p.id, p.submission, p.reviewer, p.author)),
        );
    }

    /// Learners hand in one after another, nobody reviews yet (the hardest case for
    /// balance); after each hand-in, the open loads are within one of their mean.
    fn hand_in_one_by_one(
        learners: &[Uuid],
        want: usize,
    ) -> (Vec<(Uuid, Uuid)>, Vec<AssignmentRow>) {
        let mut subs = Vec::new();
        let mut rows = Vec::new();
        for learner in learners {
            subs.push((Uuid::now_v7(), *learner));
            let plan = plan_assignments(&subs, &rows, want, Some(*learner));
            apply(&mut rows, plan);
            let loads: Vec<usize> = subs
                .iter()
                .map(|(_, l)| rows.iter().filter(|a| a.reviewer_id == *l).count())
                .collect();
            let mean = loads.iter().sum::<usize>() as f64 / loads.len() as f64;
            assert!(
                loads.iter().all(|c| (*c as f64) <= mean + 1.0),
                "{} of {} handed in, {want} each: {loads:?}",
                subs.len(),
                learners.len()
            );
        }
        (subs, rows)
    }

    #[test]
    fn early_submitters_get_reviewers_when_others_hand_in() {
        let learners = ids(3);
        let (_, rows) = hand_in_one_by_one(&learners, 2);
        // Every submission ends with two reviewers, none its author; everyone reviews two.
        assert_eq!(rows.len(), 6);
        for learner in &learners {
            let reviews = rows.iter().filter(|a| a.reviewer_id == *learner).count();
            assert_eq!(reviews, 2);
        }
        assert!(rows.iter().all(|a| a.reviewer_id != a.author_id));
    }

    #[test]
    fn every_submission_gets_its_reviewers_and_loads_stay_balanced() {
        for want in 1..=5 {
            for n in 2..=30 {
                let learners = ids(n);
                let (subs, rows) = hand_in_one_by_one(&learners, want);
                let per_sub = want.min(n - 1);
                for (sub, author) in &subs {
                    let reviewers: Vec<Uuid> = rows
                        .iter()
                        .filter(|a| a.submission_id == *sub)
                        .map(|a| a.reviewer_id)
                        .collect();
                    assert_eq!(reviewers.len(), per_sub, "{n} learners, {want} each");
                    assert!(!reviewers.contains(author));
                    let distinct: HashSet<&Uuid> = reviewers.iter().collect();
                    assert_eq!(distinct.len(), reviewers.len());
                }
            }
        }
    }

    #[test]
    fn the_same_pair_is_avoided_when_another_reviewer_is_as_free() {
        let learners = ids(4);
        let (a, b, c, d) = (learners[0], learners[1], learners[2], learners[3]);
        // On an earlier deliverable, b reviewed a (and it is done).
        let mut earlier = row(Uuid::now_v7(), Uuid::now_v7(), b, a);
        earlier.status = AssignmentStatus::Done;
        let subs: Vec<(Uuid, Uuid)> = [a, b, c, d].iter().map(|l| (Uuid::now_v7(), *l)).collect();
        let plan = plan_assignments(&subs[..1], std::slice::from_ref(&earlier), 1, Some(a));
        assert!(plan.new.is_empty(), "nobody else has handed in yet");
        let plan = plan_assignments(&subs, &[earlier], 1, None);
        let for_a = plan.new.iter().find(|p| p.author == a).unwrap();
        assert_ne!(for_a.reviewer, b);
    }

    #[test]
    fn reviewed_assignments_are_never_moved() {
        let learners = ids(4);
        let (_, mut rows) = hand_in_one_by_one(&learners[..3], 2);
        for a in &mut rows {
            a.status = AssignmentStatus::Done;
        }
        let mut subs: Vec<(Uuid, Uuid)> = Vec::new();
        for a in &rows {
            if !subs.iter().any(|(s, _)| *s == a.submission_id) {
                subs.push((a.submission_id, a.author_id));
            }
        }
        subs.push((Uuid::now_v7(), learners[3]));
        let plan = plan_assignments(&subs, &rows, 2, Some(learners[3]));
        assert!(plan.moved.is_empty());
        // The newcomer's own submission gets two of the others.
        assert_eq!(plan.new.len(), 2);
    }
}
