//! The sent archive's queries: what went out as a set of identities,
//! searchable and sortable, a page at a time. Tests are left out.

use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use amicale_store::entities::outbox;
use amicale_store::error::AppResult;

/// A message as the archive shows it.
pub type Message = outbox::Model;

/// What an archive page asks for.
pub struct Search<'a> {
    /// The identities whose messages to list.
    pub identities: Vec<i64>,
    /// Words of the recipient or the subject.
    pub words: &'a str,
    /// "recipient", "subject" or anything else for the date.
    pub sort: &'a str,
    pub ascending: bool,
    pub page: u64,
    pub per_page: u64,
}

/// One page of messages (the last one when `page` is past it), the number
/// of messages and of pages.
pub async fn search(db: &DatabaseConnection, s: Search<'_>) -> AppResult<(Vec<Message>, u64, u64)> {
    let mut cond = Condition::all()
        .add(outbox::Column::IdentityId.is_in(s.identities))
        .add(outbox::Column::Origin.ne("test"));
    let words = s.words.trim();
    if !words.is_empty() {
        cond = cond.add(
            Condition::any()
                .add(outbox::Column::Recipient.contains(words))
                .add(outbox::Column::Subject.contains(words)),
        );
    }
    let dir = if s.ascending { Order::Asc } else { Order::Desc };
    let col = match s.sort {
        "recipient" => outbox::Column::Recipient,
        "subject" => outbox::Column::Subject,
        _ => outbox::Column::CreatedAt,
    };
    let paginator = outbox::Entity::find()
        .filter(cond)
        .order_by(col, dir.clone())
        .order_by(outbox::Column::Id, dir)
        .paginate(db, s.per_page);
    let total = paginator.num_items().await?;
    let pages = total.div_ceil(s.per_page).max(1);
    let rows = paginator.fetch_page(s.page.min(pages - 1)).await?;
    Ok((rows, total, pages))
}

pub async fn message(db: &DatabaseConnection, id: i64) -> AppResult<Option<Message>> {
    Ok(outbox::Entity::find_by_id(id).one(db).await?)
}
