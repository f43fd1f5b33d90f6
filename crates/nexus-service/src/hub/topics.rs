//! Topics: listed and read by anyone, created and changed by admins, and the topics that
//! share notes with one.

use nexus_core::hub;
use nexus_core::identity::{Checker, Role};
use nexus_core::{AppError, Unique, error::AppResult};
use nexus_db::Exec;
use nexus_db::hub as repo;
use uuid::Uuid;

use super::model::{CreateTopic, RelatedTopic, Topic, UpdateTopic, topic_view};
use super::rules;
use crate::actor::AuthUser;
use crate::safety::OpClass;

use_case_group! {
    /// Topics: [`super::Hub::topics`].
    Topics
}

impl Topics<'_> {
    /// Every topic, with its number of published notes.
    pub async fn list(&self) -> AppResult<Vec<Topic>> {
        self.charge(OpClass::Read).await?;
        Ok(repo::list_topics(&self.db)
            .await?
            .into_iter()
            .map(topic_view)
            .collect())
    }

    pub async fn get(&self, slug: &str) -> AppResult<Topic> {
        self.charge(OpClass::Read).await?;
        topic_row(&self.db, slug).await.map(topic_view)
    }

    pub async fn create(&self, actor: &AuthUser, input: CreateTopic) -> AppResult<Topic> {
        self.charge(OpClass::Write).await?;
        if let Some(topic) = self.committed_before::<Topic>()? {
            return Ok(topic);
        }
        actor.require_role(Role::Admin)?;
        actor.require_write()?;
        let mut check = Checker::default();
        let title = check.check(rules::topic_title(&input.title));
        let description = check.check(rules::topic_description(
            input.description.as_deref().unwrap_or(""),
        ));
        let slug = match &input.slug {
            Some(s) => check.check(rules::topic_slug(s)),
            None => title.as_deref().map(hub::slugify),
        };
        check.finish()?;
        let (Some(title), Some(description), Some(slug)) = (title, description, slug) else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "validated inputs missing"
            )));
        };
        let mut tx = self.db.begin().await?;
        match repo::insert_topic(
            &mut tx,
            Uuid::now_v7(),
            &slug,
            &title,
            &description,
            self.clock.now(),
        )
        .await
        {
            Err(AppError::Duplicate(Unique::TopicSlug)) => {
                return Err(AppError::Conflict(format!("the topic `{slug}` exists")));
            }
            other => other?,
        }
        let topic = topic_row(&mut tx, &slug).await.map(topic_view)?;
        self.commit(tx, topic).await
    }

    /// Changes a topic's title or description (admins).
    pub async fn update(
        &self,
        actor: &AuthUser,
        slug: &str,
        input: UpdateTopic,
    ) -> AppResult<Topic> {
        self.charge(OpClass::Write).await?;
        actor.require_role(Role::Admin)?;
        actor.require_write()?;
        let topic = topic_row(&self.db, slug).await?;
        let mut check = Checker::default();
        let title = check.check_given(input.title.as_deref(), rules::topic_title);
        let description = check.check_given(input.description.as_deref(), rules::topic_description);
        check.finish()?;
        repo::update_topic(
            &self.db,
            topic.id,
            title.as_deref(),
            description.as_deref(),
            self.clock.now(),
        )
        .await?;
        self.get(slug).await
    }

    /// Topics that share published notes with this one, most shared first.
    pub async fn related(&self, slug: &str) -> AppResult<Vec<RelatedTopic>> {
        self.charge(OpClass::Read).await?;
        let topic = topic_row(&self.db, slug).await?;
        Ok(repo::related_topics(&self.db, topic.id)
            .await?
            .into_iter()
            .map(|(slug, title, shared_notes)| RelatedTopic {
                slug,
                title,
                shared_notes,
            })
            .collect())
    }
}

/// The topic with this slug; 404 when there is none.
pub(crate) async fn topic_row(x: impl Into<Exec<'_>>, slug: &str) -> AppResult<repo::TopicRow> {
    repo::topic_by_slug(x, slug)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no topic `{slug}`")))
}
