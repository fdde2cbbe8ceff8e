using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class ReplyAccountAndSentIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "AccountSid",
                table: "Replies",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "StatusReported",
                table: "Replies",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateIndex(
                name: "IX_Replies_Sent",
                table: "Replies",
                column: "CompletedAt",
                filter: "\"FirstSid\" IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Replies_Sent",
                table: "Replies");

            migrationBuilder.DropColumn(
                name: "AccountSid",
                table: "Replies");

            migrationBuilder.DropColumn(
                name: "StatusReported",
                table: "Replies");
        }
    }
}
