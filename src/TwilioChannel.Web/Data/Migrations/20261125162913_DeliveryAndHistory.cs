using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class DeliveryAndHistory : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "ReconciledThrough",
                table: "Numbers",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "BackfillId",
                table: "Messages",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "Backfills",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    NumberId = table.Column<long>(type: "INTEGER", nullable: false),
                    OrgId = table.Column<string>(type: "TEXT", nullable: false),
                    AccountSid = table.Column<string>(type: "TEXT", nullable: false),
                    Address = table.Column<string>(type: "TEXT", nullable: false),
                    Since = table.Column<DateTime>(type: "TEXT", nullable: false),
                    State = table.Column<int>(type: "INTEGER", nullable: false),
                    Phase = table.Column<int>(type: "INTEGER", nullable: false),
                    NextPageUrl = table.Column<string>(type: "TEXT", nullable: true),
                    PagesFetched = table.Column<int>(type: "INTEGER", nullable: false),
                    MessagesFetched = table.Column<long>(type: "INTEGER", nullable: false),
                    MessagesStored = table.Column<long>(type: "INTEGER", nullable: false),
                    MessagesRouted = table.Column<long>(type: "INTEGER", nullable: false),
                    ReachedDate = table.Column<DateTime>(type: "TEXT", nullable: true),
                    CancelRequested = table.Column<bool>(type: "INTEGER", nullable: false),
                    Error = table.Column<string>(type: "TEXT", nullable: true),
                    JobId = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    CompletedAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Backfills", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "DeadLetters",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OrgId = table.Column<string>(type: "TEXT", nullable: false),
                    FeedThreadId = table.Column<long>(type: "INTEGER", nullable: false),
                    Position = table.Column<long>(type: "INTEGER", nullable: false),
                    ExtId = table.Column<string>(type: "TEXT", nullable: false),
                    StatusCode = table.Column<int>(type: "INTEGER", nullable: false),
                    Reason = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    ReplayedAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DeadLetters", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "DeliveryCursors",
                columns: table => new
                {
                    OrgId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Position = table.Column<long>(type: "INTEGER", nullable: false),
                    ImportedThrough = table.Column<long>(type: "INTEGER", nullable: false),
                    ParkedReason = table.Column<string>(type: "TEXT", nullable: true),
                    ParkedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Failures = table.Column<int>(type: "INTEGER", nullable: false),
                    NextAttemptAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LastError = table.Column<string>(type: "TEXT", nullable: true),
                    BudgetDay = table.Column<string>(type: "TEXT", nullable: true),
                    CallsToday = table.Column<int>(type: "INTEGER", nullable: false),
                    LeaseOwner = table.Column<string>(type: "TEXT", nullable: true),
                    LeaseUntil = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LastDeliveredAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DeliveryCursors", x => x.OrgId);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Messages_BackfillId_State_ReceivedAt",
                table: "Messages",
                columns: new[] { "BackfillId", "State", "ReceivedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Backfills_NumberId",
                table: "Backfills",
                column: "NumberId");

            migrationBuilder.CreateIndex(
                name: "IX_DeadLetters_OrgId_Id",
                table: "DeadLetters",
                columns: new[] { "OrgId", "Id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Backfills");

            migrationBuilder.DropTable(
                name: "DeadLetters");

            migrationBuilder.DropTable(
                name: "DeliveryCursors");

            migrationBuilder.DropIndex(
                name: "IX_Messages_BackfillId_State_ReceivedAt",
                table: "Messages");

            migrationBuilder.DropColumn(
                name: "ReconciledThrough",
                table: "Numbers");

            migrationBuilder.DropColumn(
                name: "BackfillId",
                table: "Messages");
        }
    }
}
