using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace TwilioChannel.Web.Data;

public sealed class ChannelDbContext(DbContextOptions<ChannelDbContext> options) : DbContext(options)
{
    public DbSet<TwilioAccount> TwilioAccounts => Set<TwilioAccount>();
    public DbSet<Installation> Installations => Set<Installation>();
    public DbSet<ChannelNumber> Numbers => Set<ChannelNumber>();
    public DbSet<RetiredNumber> RetiredNumbers => Set<RetiredNumber>();
    public DbSet<Message> Messages => Set<Message>();
    public DbSet<Conversation> Conversations => Set<Conversation>();
    public DbSet<FeedThread> FeedThreads => Set<FeedThread>();
    public DbSet<Counter> Counters => Set<Counter>();
    public DbSet<Reply> Replies => Set<Reply>();
    public DbSet<OutboundStatus> OutboundStatuses => Set<OutboundStatus>();
    public DbSet<OptOut> OptOuts => Set<OptOut>();
    public DbSet<TemplateInvite> TemplateInvites => Set<TemplateInvite>();
    public DbSet<OutboundMedia> OutboundMedia => Set<OutboundMedia>();
    public DbSet<DeliveryCursor> DeliveryCursors => Set<DeliveryCursor>();
    public DbSet<DeadLetter> DeadLetters => Set<DeadLetter>();
    public DbSet<Backfill> Backfills => Set<Backfill>();

    protected override void ConfigureConventions(ModelConfigurationBuilder builder)
    {
        // All times are UTC; SQLite keeps no kind, so restore it on read.
        builder.Properties<DateTime>().HaveConversion<UtcConverter>();
        // Every index is declared, none implied by a foreign key. The only two foreign keys (Messages and FeedThreads to
        // their conversation) had such indexes: written by every webhook (with many customers, each into a different
        // leaf) and read by nothing, since no query looks rows up by conversation and conversations are never deleted
        // (the one use SQLite has for a foreign key's child index). A new foreign key that needs one declares it.
        builder.Conventions.Remove(typeof(Microsoft.EntityFrameworkCore.Metadata.Conventions.ForeignKeyIndexConvention));
    }

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<TwilioAccount>(e =>
        {
            e.HasIndex(x => x.AccountSid).IsUnique();
            e.Property(x => x.AccountSid).HasMaxLength(34);
            e.Property(x => x.FriendlyName).HasMaxLength(200);
        });
        model.Entity<Installation>(e =>
        {
            e.HasIndex(x => x.OrgId).IsUnique();
            e.Property(x => x.OrgId).HasMaxLength(64);
        });
        model.Entity<ChannelNumber>(e =>
        {
            // One number routes to exactly one org.
            e.HasIndex(x => x.Address).IsUnique();
            e.HasIndex(x => x.MessagingServiceSid);
            e.HasIndex(x => new { x.OrgId, x.Channel });
            e.Property(x => x.Channel).HasConversion<int>();
        });
        // Keyed by the deleted number's own id (Numbers' ids are AUTOINCREMENT, never reused).
        model.Entity<RetiredNumber>(e => e.Property(x => x.Id).ValueGeneratedNever());
        model.Entity<Message>(e =>
        {
            // Twilio retries and duplicates: one row per MessageSid, whatever arrives.
            e.HasIndex(x => x.MessageSid).IsUnique();
            // Every index costs each webhook a B-tree insert in the ack transaction, so the ones for work queues are
            // partial: a live message is written once, already routed, and enters none of them. Queries must repeat
            // the filter as a constant for SQLite to use them (EF inlines enum literals; see MessagesApi).
            e.HasIndex(x => x.Id, "IX_Messages_Received").HasFilter("\"State\" = 0");
            e.HasIndex(x => x.Id, "IX_Messages_Unrouted").HasFilter("\"State\" = 2");
            // A backfill releases its held messages in original time order.
            e.HasIndex(x => new { x.BackfillId, x.State, x.ReceivedAt }).HasFilter("\"BackfillId\" IS NOT NULL");
            e.Property(x => x.State).HasConversion<int>();
        });
        model.Entity<Conversation>(e =>
        {
            e.HasIndex(x => new { x.OrgId, x.CustomerAddress, x.Generation }).IsUnique();
            e.HasIndex(x => new { x.OrgId, x.TicketExtId }).IsUnique();
        });
        model.Entity<FeedThread>(e =>
        {
            // The pull reads "org's threads after position N": an index seek, whatever the history's size.
            e.HasIndex(x => new { x.OrgId, x.Position }).IsUnique();
            // Nothing looks threads up by message or by conversation: no further index to write per thread.
        });
        model.Entity<Reply>(e =>
        {
            // Exactly once per Desk reply: the claim is this unique index.
            e.HasIndex(x => new { x.OrgId, x.DeskThreadId }).IsUnique();
            // Replies that went out, by when: the reconciliation's status refresh and the backfill's own-reply check find
            // the SIDs no status callback reported yet through it. Appended in time order, unlike a SID index.
            e.HasIndex(x => x.CompletedAt, "IX_Replies_Sent").HasFilter("\"FirstSid\" IS NOT NULL");
            e.Property(x => x.State).HasConversion<int>();
        });
        model.Entity<OutboundStatus>(e =>
        {
            e.HasKey(x => x.MessageSid);
            e.HasIndex(x => new { x.Status, x.UpdatedAt });
            e.HasIndex(x => x.ReplyId);
        });
        model.Entity<OutboundMedia>(e => e.HasIndex(x => x.ReplyId));
        model.Entity<OptOut>(e =>
        {
            e.HasIndex(x => new { x.SenderKey, x.CustomerAddress }).IsUnique();
            // A reply reads the customer's opt-outs of every sender in its claim (Replies/ReplyTarget.ReadFactsAsync).
            e.HasIndex(x => x.CustomerAddress);
        });
        model.Entity<TemplateInvite>(e =>
        {
            // At most one template per sender and customer while the window stays closed: the claim is this unique index.
            e.HasIndex(x => new { x.SenderAddress, x.CustomerAddress }).IsUnique();
            e.Property(x => x.State).HasConversion<int>();
        });
        model.Entity<DeliveryCursor>(e =>
        {
            e.HasKey(x => x.OrgId);
            e.Property(x => x.OrgId).HasMaxLength(64);
        });
        model.Entity<DeadLetter>(e => e.HasIndex(x => new { x.OrgId, x.Id }));
        model.Entity<Backfill>(e =>
        {
            e.Property(x => x.State).HasConversion<int>();
            e.HasIndex(x => x.NumberId);
        });
        model.Entity<Counter>(e =>
        {
            e.HasKey(x => x.Name);
            e.HasData(new Counter { Name = Counter.Feed, Value = 0 });
        });
    }

    private sealed class UtcConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}
